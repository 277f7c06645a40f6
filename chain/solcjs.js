#!/usr/bin/env node
// A solc-compatible front for the npm `solc` package (solcjs, WASM), so py-solc-x can drive it offline.
// Answers `--version`; compiles `--standard-json` from stdin in-process and prints only the JSON output.
// Imports resolve against --base-path (default cwd), then each --include-path (e.g. node_modules).
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
function optionValues(name) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) out.push(args[i + 1]);
    else if (args[i].startsWith(name + '=')) out.push(args[i].slice(name.length + 1));
  }
  return out;
}
const projectRoot = path.resolve(__dirname, '..');
const solc = require(require.resolve('solc', { paths: [process.cwd(), projectRoot] }));

if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solcjs.js: only --version and --standard-json are supported\n');
  process.exit(2);
}
const roots = [optionValues('--base-path')[0] || process.cwd(), ...optionValues('--include-path'),
  path.join(projectRoot, 'node_modules')];
function findImports(importPath) {
  for (const root of roots) {
    const candidate = path.resolve(root, importPath);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
  }
  return { error: 'File not found: ' + importPath };
}
const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
