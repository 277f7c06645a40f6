// Build the console's vendor bundle (console/static/vendor/tds-vendor.js) and its licence file from the npm
// packages pinned in package-lock.json: `node console/js/build.mjs` (run by ./scripts/bootstrap).
import { build } from "esbuild";
import { existsSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";

const out = "console/static/vendor/tds-vendor.js";
const result = await build({
  entryPoints: ["console/js/vendor.js"], bundle: true, format: "iife", globalName: "TDSVendor", minify: true,
  target: "es2020", legalComments: "none", outfile: out, metafile: true, logLevel: "warning",
});
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//);
  if (m && !packages.has(m[2])) packages.set(m[2], m[1]);
}
let text = "Licences of the npm packages bundled into tds-vendor.js (versions pinned in package-lock.json)\n";
for (const [name, dir] of [...packages].sort()) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  text += `\n==== ${name} ${pkg.version} (${pkg.license || "see below"}) ====\n`;
  text += file ? readFileSync(join(dir, file), "utf8") : `(no licence file in the package; package.json says ${pkg.license})\n`;
}
writeFileSync(join(dirname(out), "LICENSES.txt"), text);
console.error(`console: ${out} (${packages.size} packages)`);
