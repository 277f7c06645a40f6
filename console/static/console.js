// The TDS console's browser code: the wallet (dev keystore or injected), signed calls to this gateway,
// grant requests, downloads, receipts, proofs checked against the chain, the provider's decisions.
// No framework; every value from the server goes into the page as text (textContent), never as HTML.
// Strings go through the t() function: the server hands this page their translation (console/templates/base.html).
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("tds-config").textContent);
  const V = window.TDSVendor; // ethers + @openzeppelin/merkle-tree (pages that sign or verify load it)
  const LOCALE = cfg.lang === "zh" ? "zh-CN" : "en-GB";
  const WALLET_KEY = "tds-wallet";

  function t(id, vars) {
    let s = (cfg.messages && cfg.messages[id]) || id;
    if (vars) for (const k of Object.keys(vars)) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  }
  const $ = (sel) => document.querySelector(sel);
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const num = (n) => new Intl.NumberFormat(LOCALE).format(n);
  function when(ts) {
    if (!ts || ts >= 253402300800) return t("open");
    const f = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });
    return f.format(new Date(ts * 1000)) + " UTC";
  }
  const shortHex = (h) => (h && h.length > 20 ? h.slice(0, 10) + "…" + h.slice(-4) : h || "—");

  // ---- banner: what went wrong, in words, and that nothing was done ---------------------------------
  function banner(text, kind) {
    const b = $("#banner");
    if (!b) return;
    b.textContent = text;
    b.className = "banner shown " + (kind || "error");
    b.hidden = false;
  }
  function clearBanner() { const b = $("#banner"); if (b) { b.hidden = true; b.textContent = ""; } }

  class Refusal extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  function explain(err) {
    if (err instanceof Refusal) {
      const known = {
        not_provider: t("Only this gateway's provider may do this: unlock the provider's keystore."),
        not_member: t("This key is not an onboarded participant of the space (ask the operator)."),
        participant_suspended: t("This participant is suspended by the operator."),
        grant_revoked: t("The provider revoked this grant: no more use under it."),
        grant_expired: t("This grant has expired."),
        count_exhausted: t("No uses left under this grant: request a new one."),
        purpose_not_allowed: t("The policy does not allow this purpose."),
        jurisdiction_not_allowed: t("The policy does not allow consumers from your jurisdiction."),
        chain_unavailable: t("The gateway cannot read the chain, so it refuses (it fails closed). Try again shortly."),
        chain_not_ready: t("The gateway cannot read the chain, so it refuses (it fails closed). Try again shortly."),
        rate_limited: t("Too many requests: wait a moment and try again."),
      };
      return t("Refused ({code}): {reason}", { code: err.code, reason: known[err.code] || err.message });
    }
    if (err && err.name === "TypeError") {
      return t("The gateway cannot be reached. Nothing was sent or changed; try again when it is back.");
    }
    return String((err && err.message) || err);
  }
  function fail(err, where) {
    const text = explain(err);
    banner(text);
    if (where) { where.textContent = text; where.className = "result error"; }
  }

  // ---- the wallet -----------------------------------------------------------------------------------
  function stored() { try { return JSON.parse(sessionStorage.getItem(WALLET_KEY) || "null"); } catch { return null; } }
  function currentAddress() { const w = stored(); return w ? w.address : null; }
  function isProvider() { const a = currentAddress(); return !!a && a.toLowerCase() === cfg.provider.toLowerCase(); }

  async function signTypedData(doc) {
    const w = stored();
    if (!w) throw new Error(t("Unlock a wallet first (Wallet page)."));
    if (w.kind === "dev") {
      const wallet = new V.Wallet(w.key);
      const types = Object.fromEntries(Object.entries(doc.types).filter(([k]) => k !== "EIP712Domain"));
      return wallet.signTypedData(doc.domain, types, doc.message);
    }
    if (!window.ethereum) throw new Error(t("The browser wallet is gone: connect it again."));
    return window.ethereum.request({ method: "eth_signTypedData_v4", params: [w.address, JSON.stringify(doc)] });
  }

  function showWallet() {
    const s = $("#wallet-status");
    const a = currentAddress();
    if (s) s.textContent = a ? (isProvider() ? t("Provider") : t("Signed in")) + " " + shortHex(a) : t("No wallet");
    if (s) s.title = a || "";
    const lock = $("#lock");
    if (lock) lock.hidden = !a;
  }

  async function unlockKeystore(ev) {
    ev.preventDefault();
    const out = $("#unlock-result");
    const file = $("#keystore-file").files[0];
    const pass = $("#keystore-passphrase").value;
    out.className = "result";
    if (!file) { out.textContent = t("Choose a keystore file."); return; }
    out.textContent = t("Decrypting the keystore in this page…");
    let json;
    try { json = await file.text(); JSON.parse(json); } catch {
      out.textContent = t("This is not a keystore file (JSON). Nothing was stored."); out.className = "result error"; return;
    }
    try {
      const wallet = await V.Wallet.fromEncryptedJson(json, pass);
      sessionStorage.setItem(WALLET_KEY, JSON.stringify({ kind: "dev", address: wallet.address, key: wallet.privateKey }));
      $("#keystore-passphrase").value = "";
      out.textContent = t("Unlocked {address} for this tab.", { address: wallet.address });
      out.className = "result ok";
      showWallet();
    } catch (e) {
      const wrong = /password|passphrase|invalid/i.test(String(e && e.message));
      out.textContent = wrong ? t("Wrong passphrase: the keystore could not be decrypted. Nothing was stored.")
        : t("The keystore could not be read: {reason}", { reason: String(e && e.message) });
      out.className = "result error";
    }
  }

  async function connectInjected() {
    const out = $("#unlock-result");
    if (!window.ethereum) { out.textContent = t("No browser wallet found in this browser."); out.className = "result error"; return; }
    try {
      const [address] = await window.ethereum.request({ method: "eth_requestAccounts" });
      sessionStorage.setItem(WALLET_KEY, JSON.stringify({ kind: "injected", address: V.getAddress(address) }));
      out.textContent = t("Connected {address}.", { address }); out.className = "result ok";
      showWallet();
    } catch (e) { out.textContent = String(e && e.message); out.className = "result error"; }
  }

  // ---- signed calls to this gateway -----------------------------------------------------------------
  let eip712 = null;
  async function eip712Doc() {
    if (!eip712) {
      const r = await fetch("/eip712");
      if (!r.ok) throw await refusal(r);
      eip712 = await r.json();
    }
    return eip712;
  }
  function randomNonce() {
    const b = new Uint8Array(16); crypto.getRandomValues(b);
    return BigInt("0x" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")).toString();
  }
  async function refusal(r) {
    let code = "http_" + r.status, message = r.statusText;
    try {
      const j = await r.json();
      if (j && j.error && typeof j.error === "object") { code = j.error.code || code; message = j.error.message || message; }
      else if (j && typeof j.error === "string") message = j.error;
    } catch { /* not JSON */ }
    return new Refusal(r.status, code, message);
  }
  // One call signed in the browser: the X-TDS-* headers over method, raw target and body (EIP-712 GatewayRequest).
  async function signedFetch(method, target, body, extraHeaders) {
    const address = currentAddress();
    if (!address) throw new Error(t("Unlock a wallet first (Wallet page)."));
    const doc = await eip712Doc();
    const bytes = body === undefined || body === null ? new Uint8Array() : new TextEncoder().encode(body);
    const nonce = randomNonce();
    const expiry = Math.floor(Date.now() / 1000) + 120;
    const g = doc.gateway;
    const typed = {
      types: g.types, primaryType: g.primaryType, domain: g.domain,
      message: { provider: g.message.provider, gateway: g.message.gateway, method, path: target,
                 bodyHash: V.keccak256(bytes), nonce, expiry },
    };
    const signature = await signTypedData(typed);
    const headers = { "X-TDS-Address": address, "X-TDS-Gateway": g.message.gateway, "X-TDS-Nonce": nonce,
                      "X-TDS-Expiry": String(expiry), "X-TDS-Signature": signature, ...(extraHeaders || {}) };
    if (body !== undefined && body !== null) headers["Content-Type"] = "application/json";
    const r = await fetch(target, { method, headers, body: bytes.length ? bytes : undefined, credentials: "omit" });
    if (!r.ok) throw await refusal(r);
    return r;
  }
  const signedJson = async (method, target, body) => (await signedFetch(method, target, body)).json();

  // ---- asset page: request a grant --------------------------------------------------------------------
  async function requestGrant(ev) {
    ev.preventDefault();
    clearBanner();
    const out = $("#request-result");
    const form = $("#request-form");
    const asset = document.querySelector("article.asset").dataset.asset;
    out.className = "result"; out.textContent = t("Signing the request…");
    try {
      const doc = await eip712Doc();
      const now = Math.floor(Date.now() / 1000);
      const offerStart = Number(form.dataset.notBefore || 0), offerEnd = Number(form.dataset.notAfter || 0);
      const days = Number($("#request-days").value), count = Number($("#request-count").value);
      if (!(days >= 1) || !(count >= 1)) throw new Error(t("Uses and days must be whole numbers of at least 1."));
      const start = Math.max(offerStart, now - 60);
      const end = offerEnd ? Math.min(start + days * 86400, offerEnd) : start + days * 86400;
      const request = {
        asset_id: asset, consumer: currentAddress(), purpose: $("#request-purpose").value, not_before: start,
        not_after: end, max_count: count, price_per_access: Number(form.dataset.price || 0),
        nonce: Math.floor(Math.random() * Number.MAX_SAFE_INTEGER), deadline: now + 600,
        policy_epoch: Number(form.dataset.epoch),
      };
      if (!request.consumer) throw new Error(t("Unlock a wallet first (Wallet page)."));
      const g = doc.grantRequest;
      const signature = await signTypedData({ types: g.types, primaryType: g.primaryType, domain: g.domain, message: {
        assetId: request.asset_id, consumer: request.consumer, purpose: request.purpose, notBefore: request.not_before,
        notAfter: request.not_after, maxCount: request.max_count, pricePerAccess: String(form.dataset.price || "0"),
        nonce: String(request.nonce), deadline: request.deadline, policyEpoch: request.policy_epoch } });
      const price = /^[0-9]{1,29}$/.test(form.dataset.price || "") ? form.dataset.price : "0";
      request.price_per_access = "__PRICE__"; // a uint96 is written as its digits: a JavaScript number would round it
      const body = JSON.stringify({ request, signature }).replace('"__PRICE__"', price);
      out.textContent = t("Sending the signed request…");
      const grant = await signedJson("POST", "/grants", body);
      out.replaceChildren(
        grant.state === "issued" ? t("Granted: {n} uses until {end}.", { n: num(grant.max_count), end: when(request.not_after) })
          : t("Requested: pending the provider's approval."),
        " ", el("a", { href: cfg.prefix + "/consumer" }, t("My grants")),
        " ", el("code", { class: "grant-id", title: grant.grant_id }, shortHex(grant.grant_id)));
      out.className = "result ok";
    } catch (e) { fail(e, out); }
  }

  async function assetIncidents() {
    const section = $("#incidents");
    if (!section || !isProvider()) return;
    const asset = document.querySelector("article.asset").dataset.asset;
    try {
      const doc = await signedJson("GET", "/provider/incidents?asset=" + asset);
      renderIncidents(doc.incidents, $("#incident-list"));
      section.hidden = false;
    } catch (e) { fail(e); }
  }
  function renderIncidents(rows, list) {
    list.replaceChildren(...(rows.length ? rows.map((i) => el("li", {}, when(i.at), " · ", i.kind, " · ",
      i.asset_title || shortHex(i.asset_id), " · ", i.detail)) : [el("li", { class: "empty" }, t("No incidents."))]));
  }

  // ---- consumer page ----------------------------------------------------------------------------------
  const STATES = () => ({ pending: t("pending approval"), approved: t("approved, going on-chain"), issued: t("issued"),
    denied: t("denied"), failed: t("failed on-chain"), revoked: t("revoked") });
  const LIVENESS = () => ({ live: t("live"), revoked: t("revoked"), expired: t("expired"),
    not_yet_valid: t("not yet valid"), unknown: t("unknown") });
  function stateText(g) {
    if (g.state === "issued" && g.liveness && g.liveness !== "live") return LIVENESS()[g.liveness] || g.liveness;
    if (g.state === "issued" && g.liveness === "live") return STATES().issued + " · " + LIVENESS().live;
    return STATES()[g.state] || g.state;
  }
  let grantsById = {};

  async function loadConsumer() {
    if (!currentAddress()) { $("#need-wallet").hidden = false; return; }
    try {
      const doc = await signedJson("GET", "/grants");
      grantsById = Object.fromEntries(doc.grants.map((g) => [g.grant_id, g]));
      const body = $("#grants tbody");
      body.replaceChildren(...doc.grants.map(grantRow));
      if (!doc.grants.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("No grants yet: find a data product in the catalog and request one."))));
      await loadReceipts();
    } catch (e) { fail(e); }
  }
  function grantRow(g) {
    const live = g.state === "issued" && g.liveness === "live";
    const left = Math.max(0, g.max_count - g.used);
    const actions = el("td", { class: "actions" });
    if (live && left > 0 && g.kind === "dataset") {
      actions.append(el("button", { type: "button", class: "download", onclick: (e) => download(g, e.target) }, t("Download")));
    }
    if (live && left > 0 && g.kind === "service") {
      actions.append(el("button", { type: "button", class: "call", onclick: () => openCall(g) }, t("Call")));
    }
    if (live && left > 0 && g.kind === "compute") {
      actions.append(el("button", { type: "button", class: "run-job", onclick: () => openCompute(g) }, t("Run a job")));
    }
    if (g.reason && g.state !== "issued") actions.append(el("span", { class: "reason" }, g.reason));
    return el("tr", { "data-grant": g.grant_id },
      el("td", {}, el("a", { href: cfg.prefix + "/assets/" + g.asset_id }, g.asset_title || shortHex(g.asset_id))),
      el("td", {}, g.request.purpose),
      el("td", { class: "state state-" + (g.liveness || g.state) }, stateText(g)),
      el("td", { class: "left" }, g.state === "issued" ? num(left) + " / " + num(g.max_count) : "—"),
      el("td", {}, when(g.request.not_after)),
      actions);
  }
  async function sha256Hex(buf) {
    const d = await crypto.subtle.digest("SHA-256", buf);
    return "0x" + Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, "0")).join("");
  }
  async function download(g, button) {
    clearBanner();
    button.disabled = true;
    try {
      const target = "/assets/" + g.asset_id + "/data?grant=" + g.grant_id;
      const r = await signedFetch("GET", target);
      const buf = await r.arrayBuffer();
      const digest = await sha256Hex(buf);
      const ok = digest === g.asset_id.toLowerCase();
      const a = el("a", { href: URL.createObjectURL(new Blob([buf])), download: (g.asset_title || g.asset_id).replace(/[\\/:*?"<>|]+/g, "_") });
      document.body.append(a); a.click(); a.remove();
      banner(ok ? t("Downloaded {n} bytes; their SHA-256 matches the registered hash.", { n: num(buf.byteLength) })
        : t("Downloaded {n} bytes, but their SHA-256 {digest} is NOT the registered hash: do not trust this file.", { n: num(buf.byteLength), digest }),
      ok ? "ok" : "error");
      await loadConsumer();
    } catch (e) { fail(e); } finally { button.disabled = false; }
  }
  function openCall(g) {
    const section = $("#service-call");
    section.hidden = false;
    section.dataset.grant = g.grant_id; section.dataset.asset = g.asset_id;
    $("#call-path").focus();
  }
  async function callService(ev) {
    ev.preventDefault();
    const section = $("#service-call"), out = $("#call-answer");
    let path = $("#call-path").value.trim();
    if (!path.startsWith("/")) path = "/" + path;
    try {
      const r = await signedFetch("GET", "/services/" + section.dataset.asset + path, null, { "X-TDS-Grant": section.dataset.grant });
      out.textContent = await r.text();
      await loadConsumer();
    } catch (e) { fail(e, out); }
  }

  // ---- compute-to-data: a job under the grant, its state, its result ---------------------------------
  async function openCompute(g) {
    clearBanner();
    const section = $("#compute");
    section.dataset.grant = g.grant_id; section.dataset.asset = g.asset_id;
    try {
      const r = await fetch(cfg.prefix + "/assets/" + g.asset_id + "/algorithms", { credentials: "omit" });
      if (!r.ok) throw await refusal(r);
      const doc = await r.json();
      const select = $("#compute-algorithm");
      select.replaceChildren(...doc.algorithms.map((a) => el("option", { value: a.algorithm_id, "data-dp": a.dp ? "1" : "" },
        (a.title || shortHex(a.algorithm_id)) + (a.dp ? " · " + t("differentially private") : ""))));
      if (!doc.algorithms.length) select.append(el("option", { value: "" }, t("No algorithm is approved on this data yet: nothing can run.")));
      section.hidden = false;
      section.scrollIntoView({ block: "nearest" });
    } catch (e) { fail(e); }
  }
  const JOB_STATES = () => ({ queued: t("queued"), running: t("running"), succeeded: t("succeeded"), failed: t("failed"),
    cancelled: t("cancelled") });
  async function submitJob(ev) {
    ev.preventDefault();
    clearBanner();
    const section = $("#compute"), state = $("#compute-state"), answer = $("#compute-answer");
    const option = $("#compute-algorithm").selectedOptions[0];
    answer.textContent = ""; state.className = "result";
    let params;
    try { params = JSON.parse($("#compute-params").value || "{}"); } catch { params = null; }
    if (!params || typeof params !== "object" || Array.isArray(params)) {
      state.textContent = t("Parameters must be a JSON object, e.g. {\"column\": \"income\"}."); state.className = "result error"; return;
    }
    const body = { asset_id: section.dataset.asset, algorithm: option ? option.value : "", params, grant: section.dataset.grant };
    if (option && option.dataset.dp) body.epsilon = Number($("#compute-epsilon").value);
    try {
      state.textContent = t("Signing and submitting the job…");
      let job = await signedJson("POST", "/compute/jobs", JSON.stringify(body));
      const started = Date.now();
      while (job.state === "queued" || job.state === "running") {
        state.textContent = t("Job {job}: {state}…", { job: shortHex(job.job_id), state: JOB_STATES()[job.state] || job.state });
        if (Date.now() - started > 15 * 60 * 1000) break; // a bounded wait: the job page keeps its state
        job = await signedJson("GET", "/compute/jobs/" + job.job_id + "?wait=25");
      }
      if (job.state !== "succeeded") {
        state.textContent = t("Job {job} {state}: {problem}", { job: shortHex(job.job_id), state: JOB_STATES()[job.state] || job.state, problem: job.problem || "" });
        state.className = "result error";
      } else {
        const r = await signedFetch("GET", "/compute/jobs/" + job.job_id + "/result");
        const text = await r.text();
        state.textContent = t("Job {job} succeeded: {n} bytes of result, SHA-256 {sha}.", { job: shortHex(job.job_id), n: num(text.length), sha: shortHex(r.headers.get("X-Content-SHA256") || "") });
        state.className = "result ok";
        answer.textContent = text.length > 20000 ? text.slice(0, 20000) + "…" : text;
      }
      await loadConsumer();
    } catch (e) { fail(e, state); }
  }

  async function loadReceipts() {
    const doc = await signedJson("GET", "/receipts?limit=200");
    const body = $("#receipts tbody");
    const rows = doc.receipts.slice().reverse();
    body.replaceChildren(...rows.map(receiptRow));
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("No receipts yet."))));
  }
  function receiptRow(r) {
    const rc = r.receipt, g = grantsById[rc.grant_id];
    const evidence = { pending: t("pending"), accepted: t("sealed, anchoring"), anchored: t("anchored on-chain") }[r.state] || r.state;
    const actions = el("td", { class: "actions" });
    if (r.state !== "pending") {
      actions.append(el("button", { type: "button", class: "proof", onclick: (e) => openProof(rc.receipt_id, e.target) }, t("Proof")));
    }
    return el("tr", { "data-receipt": rc.receipt_id },
      el("td", {}, when(rc.timestamp)), el("td", {}, (g && g.asset_title) || shortHex(rc.asset_id)),
      el("td", {}, rc.decision === "allow" ? t("allowed") : t("refused")), el("td", {}, num(rc.byte_count)),
      el("td", { class: "evidence" }, evidence), actions);
  }
  async function openProof(receiptId, button) {
    clearBanner();
    try {
      const doc = await signedJson("GET", "/receipts/" + encodeURIComponent(receiptId) + "/proof");
      const text = JSON.stringify(doc, null, 2);
      const link = el("a", { class: "proof-download", href: URL.createObjectURL(new Blob([text], { type: "application/json" })),
        download: "proof-" + receiptId.replace(/[^A-Za-z0-9_-]+/g, "_") + ".json" }, t("Download the proof"));
      const cell = button.parentElement;
      cell.replaceChildren(link, " ", el("button", { type: "button", class: "verify", onclick: () => showVerdict(doc) }, t("Check it here")));
    } catch (e) { fail(e); }
  }
  async function verifyFile(ev) {
    const file = ev.target.files[0];
    if (!file) return;
    let doc;
    try { doc = JSON.parse(await file.text()); } catch {
      return showVerdict(null, { valid: false, category: "malformed", reason: t("The file is not JSON."), checks: [] });
    }
    await showVerdict(doc);
  }
  async function showVerdict(doc, given) {
    const box = $("#proof-verdict");
    box.hidden = false; box.className = "verdict"; box.textContent = t("Checking…");
    const v = given || await verifyProof(doc);
    box.className = "verdict " + (v.valid ? "valid" : "invalid");
    const parts = [el("strong", { class: "verdict-title" }, v.valid ? t("Proof verified") : t("Proof NOT verified ({category})", { category: v.category }))];
    if (!v.valid) parts.push(el("p", { class: "reason" }, v.reason));
    parts.push(el("ul", { class: "checks" }, v.checks.map((c) => el("li", {}, c))));
    box.replaceChildren(...parts);
    box.scrollIntoView({ block: "nearest" });
  }

  // ---- proofs, checked in the browser: the Merkle path, then the chain (eth_call) ----------------------
  const ANCHORS_ABI = [
    "function getAnchor(address provider, bytes32 root) view returns (tuple(address anchorer, uint48 blockNumber, uint40 leafCount, uint8 kind))",
    "function notaryOf(address notary) view returns (address provider, bool active)",
    "function verifyInclusion(address provider, bytes32 root, bytes32[] proof, bytes32 leaf) view returns (bool)",
    "function verifyReceipt(bytes32 root, bytes32[] proof, bytes32 receiptIdHash, bytes32 grantId, bytes32 assetId, address consumer, bytes32 purposeHash, uint8 allowed, uint64 byteCount, uint64 time, bytes32 contentHash) view returns (bool)",
  ];
  const ASSETS_ABI = ["function getAsset(bytes32 assetId) view returns (tuple(address provider, uint64 size, uint16 version, bool active, bytes32 metadataHash, bytes32 ownersHash, bytes32 previousVersion, bytes32 parentsHash))"];
  const KIND = { receipt: 1, asset: 2 };
  const RECEIPT_ENCODING = ["bytes32", "bytes32", "bytes32", "address", "bytes32", "uint8", "uint64", "uint64", "bytes32"];
  const ZERO = "0x0000000000000000000000000000000000000000";
  let rpcId = 0;
  async function rpc(method, params) {
    if (!cfg.rpc_url) throw new Failed("no_node", t("This console has no chain node to ask (console_rpc_url is off): check the proof with tds audit verify-proof."));
    let r;
    try {
      r = await fetch(cfg.rpc_url, { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }) });
    } catch {
      throw new Failed("no_node", t("The chain node {url} cannot be reached from this browser: the anchor could not be checked.", { url: cfg.rpc_url }));
    }
    const j = await r.json();
    if (j.error) throw new Failed("no_node", t("The chain node answered an error: {reason}", { reason: j.error.message }));
    return j.result;
  }
  async function view(abi, address, fn, args) {
    const iface = new V.Interface(abi);
    const data = iface.encodeFunctionData(fn, args);
    return iface.decodeFunctionResult(fn, await rpc("eth_call", [{ to: address, data }, "latest"]));
  }
  class Failed extends Error { constructor(category, reason) { super(reason); this.category = category; } }

  async function verifyProof(doc) {
    const checks = [];
    try {
      if (!doc || typeof doc !== "object" || doc.format !== "tds-proof-v1" || !(doc.kind in KIND)
          || !Array.isArray(doc.values) || !Array.isArray(doc.proof) || !Array.isArray(doc.leaf_encoding)
          || !/^0x[0-9a-fA-F]{64}$/.test(doc.root || "") || !/^0x[0-9a-fA-F]{64}$/.test(doc.leaf || "")) {
        throw new Failed("malformed", t("This is not a TDS proof document (tds-proof-v1 with root, leaf, values and proof)."));
      }
      if (doc.kind === "receipt" && JSON.stringify(doc.leaf_encoding) !== JSON.stringify(RECEIPT_ENCODING)) {
        throw new Failed("malformed", t("A receipt proof must use the receipt leaf encoding."));
      }
      let leaf;
      try { leaf = V.standardLeafHash(doc.leaf_encoding, doc.values); } catch (e) {
        throw new Failed("malformed", t("The values do not fit the leaf encoding: {reason}", { reason: e.message }));
      }
      if (leaf.toLowerCase() !== doc.leaf.toLowerCase()) {
        throw new Failed("forged", t("Forged: the values hash to {leaf}, not to the document's leaf {claimed}.", { leaf, claimed: doc.leaf }));
      }
      if (!V.StandardMerkleTree.verify(doc.root, doc.leaf_encoding, doc.values, doc.proof)) {
        throw new Failed("forged", t("Forged: the Merkle path does not lead from the leaf to the root {root}.", { root: doc.root }));
      }
      checks.push(t("Merkle path: the values hash to the leaf and the path leads to the root (@openzeppelin/merkle-tree)."));
      const chainId = Number(BigInt(await rpc("eth_chainId", [])));
      if (doc.chain_id !== null && doc.chain_id !== undefined && Number(doc.chain_id) !== chainId) {
        throw new Failed("wrong_chain", t("The proof names chain {claimed}; the node is chain {chain}.", { claimed: doc.chain_id, chain: chainId }));
      }
      const registry = cfg.contracts.AnchorRegistry;
      if (doc.contract && doc.contract.toLowerCase() !== registry.toLowerCase()) {
        throw new Failed("wrong_contract", t("The proof names contract {claimed}; this space's AnchorRegistry is {registry}.", { claimed: doc.contract, registry }));
      }
      checks.push(t("Chain {chain}, AnchorRegistry {registry}.", { chain: chainId, registry }));
      let provider;
      if (doc.kind === "receipt") {
        const [asset] = await view(ASSETS_ABI, cfg.contracts.AssetRegistry, "getAsset", [doc.values[2]]);
        provider = asset.provider;
        if (provider === ZERO) throw new Failed("wrong_anchorer", t("The receipt's asset is not registered on this chain: no provider vouches for it."));
      } else {
        provider = doc.provider || doc.anchorer;
        if (!provider) throw new Failed("malformed", t("An asset proof must name its provider."));
      }
      const [anchor] = await view(ANCHORS_ABI, registry, "getAnchor", [provider, doc.root]);
      if (anchor.anchorer === ZERO) {
        const other = doc.anchorer && doc.anchorer.toLowerCase() !== provider.toLowerCase();
        throw new Failed(other ? "wrong_anchorer" : "not_anchored", other
          ? t("The root {root} is not anchored by {provider}, the provider of this data, nor by a notary key it registered: the receipt proves nothing.", { root: doc.root, provider })
          : t("The root {root} is not anchored on this chain for {provider}.", { root: doc.root, provider }));
      }
      if (Number(anchor.kind) !== KIND[doc.kind]) {
        throw new Failed("anchor_mismatch", t("The root is anchored as another kind of evidence than this proof."));
      }
      let by = anchor.anchorer.toLowerCase() === provider.toLowerCase() ? t("the provider itself") : null;
      if (!by) {
        const [boundTo] = await view(ANCHORS_ABI, registry, "notaryOf", [anchor.anchorer]);
        by = boundTo.toLowerCase() === provider.toLowerCase() ? t("a notary key the provider registered") : null;
        if (!by) throw new Failed("wrong_anchorer", t("The root was anchored by {anchorer}, which is neither the provider nor its notary key.", { anchorer: anchor.anchorer }));
      }
      checks.push(t("Anchored in block {block} ({leaves} leaves) by {anchorer}: {by}.", { block: num(Number(anchor.blockNumber)),
        leaves: num(Number(anchor.leafCount)), anchorer: anchor.anchorer, by }));
      const included = doc.kind === "receipt"
        ? (await view(ANCHORS_ABI, registry, "verifyReceipt", [doc.root, doc.proof, ...doc.values]))[0]
        : (await view(ANCHORS_ABI, registry, "verifyInclusion", [provider, doc.root, doc.proof, doc.leaf]))[0];
      if (!included) throw new Failed("forged", t("The contract does not accept this inclusion proof."));
      checks.push(t("The AnchorRegistry contract confirms the inclusion (eth_call)."));
      if (doc.anchor_tx) {
        const tx = await rpc("eth_getTransactionReceipt", [doc.anchor_tx]);
        if (!tx || Number(BigInt(tx.status)) !== 1 || (doc.anchor_block !== null && Number(BigInt(tx.blockNumber)) !== Number(doc.anchor_block))) {
          throw new Failed("anchor_mismatch", t("The anchoring transaction {tx} is not where the proof says (block {block}).", { tx: doc.anchor_tx, block: doc.anchor_block }));
        }
        checks.push(t("Anchoring transaction {tx} in block {block}.", { tx: shortHex(doc.anchor_tx), block: num(Number(doc.anchor_block)) }));
      }
      return { valid: true, category: null, reason: null, checks };
    } catch (e) {
      if (e instanceof Failed) return { valid: false, category: e.category, reason: e.message, checks };
      return { valid: false, category: "error", reason: String((e && e.message) || e), checks };
    }
  }

  // ---- provider page ----------------------------------------------------------------------------------
  async function loadProvider() {
    if (!isProvider()) { $("#need-provider").hidden = false; return; }
    try {
      const [pending, issued, incidents] = await Promise.all([
        signedJson("GET", "/provider/requests?state=pending"), signedJson("GET", "/provider/requests?state=issued"),
        signedJson("GET", "/provider/incidents")]);
      const pb = $("#pending tbody");
      pb.replaceChildren(...pending.requests.map(pendingRow));
      if (!pending.requests.length) pb.append(el("tr", {}, el("td", { colspan: 7, class: "empty" }, t("No pending requests."))));
      const ib = $("#issued tbody");
      ib.replaceChildren(...issued.requests.map(issuedRow));
      if (!issued.requests.length) ib.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("No grants issued."))));
      renderIncidents(incidents.incidents, $("#incident-list"));
      await loadUsage();
    } catch (e) { fail(e); }
  }
  function pendingRow(r) {
    const reason = el("input", { type: "text", class: "deny-reason", maxlength: 200, placeholder: t("reason (optional)") });
    const act = async (button, what) => {
      clearBanner();
      button.disabled = true;
      try {
        const body = what === "deny" ? JSON.stringify({ reason: reason.value }) : null;
        const doc = await signedJson("POST", "/provider/grants/" + r.grant_id + "/" + what, body);
        banner(what === "approve" ? t("Approved: the grant is on-chain ({state}).", { state: STATES()[doc.state] || doc.state })
          : t("Denied."), "ok");
        await loadProvider();
      } catch (e) { fail(e); button.disabled = false; }
    };
    return el("tr", { "data-grant": r.grant_id },
      el("td", {}, when(r.created_at)),
      el("td", {}, el("a", { href: cfg.prefix + "/assets/" + r.asset_id }, r.asset_title || shortHex(r.asset_id))),
      el("td", {}, el("code", { title: r.consumer_did }, shortHex(r.consumer))),
      el("td", {}, r.request.purpose), el("td", {}, num(r.max_count)), el("td", {}, when(r.request.not_after)),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "approve", onclick: (e) => act(e.target, "approve") }, t("Approve")),
        reason, el("button", { type: "button", class: "deny", onclick: (e) => act(e.target, "deny") }, t("Deny"))));
  }
  function issuedRow(r) {
    const cell = el("td", { class: "actions" });
    const revoke = el("button", { type: "button", class: "revoke", onclick: () => {
      revoke.hidden = true;
      cell.append(el("button", { type: "button", class: "confirm-revoke", onclick: async (e) => {
        clearBanner();
        e.target.disabled = true;
        try {
          await signedJson("POST", "/provider/grants/" + r.grant_id + "/revoke", null);
          banner(t("Revoked on-chain: refused from the next block on."), "ok");
          await loadProvider();
        } catch (err) { fail(err); e.target.disabled = false; }
      } }, t("Confirm: revoke")));
    } }, t("Revoke"));
    cell.append(revoke);
    return el("tr", { "data-grant": r.grant_id },
      el("td", {}, el("a", { href: cfg.prefix + "/assets/" + r.asset_id }, r.asset_title || shortHex(r.asset_id))),
      el("td", {}, el("code", { title: r.consumer_did }, shortHex(r.consumer))), el("td", {}, r.request.purpose),
      el("td", { class: "state" }, stateText(r)), el("td", {}, num(r.used) + " / " + num(r.max_count)), cell);
  }
  async function loadUsage() {
    const period = $("#usage-period").value;
    const doc = await signedJson("GET", "/provider/usage?period=" + period);
    const box = $("#usage-charts");
    const used = doc.assets.filter((a) => a.uses > 0);
    box.replaceChildren(...(used.length ? used.slice(0, 12).map((a) => el("figure", { class: "chart-box" },
      el("figcaption", {}, a.title || shortHex(a.asset_id), " · ", t("{n} uses", { n: num(a.uses) }), " · ",
        t("revenue {amount}", { amount: money(a.revenue, doc.token) })),
      barChart(a.buckets.map((b) => [dayLabel(b.start, period), b.uses]))))
      : [el("p", { class: "empty" }, t("No use in this span."))]));
  }
  // base units as token units: "12.5 TDST" (exact: BigInt arithmetic; a uint256 exceeds a JavaScript number)
  function money(baseUnits, token) {
    const v = BigInt(baseUnits);
    if (!token) return num(v);
    const scale = 10n ** BigInt(token.decimals);
    const whole = v / scale, frac = (v % scale).toString().padStart(token.decimals, "0").replace(/0+$/, "");
    return num(whole) + (frac ? new Intl.NumberFormat(LOCALE).formatToParts(0.5).find((p) => p.type === "decimal").value + frac : "") + " " + token.symbol;
  }
  function dayLabel(ts, period) {
    const opts = period === "month" ? { year: "numeric", month: "short" } : { month: "short", day: "numeric" };
    return new Intl.DateTimeFormat(LOCALE, { ...opts, timeZone: "UTC" }).format(new Date(ts * 1000));
  }
  function barChart(points) {
    const NS = "http://www.w3.org/2000/svg", W = 640, H = 160, L = 40, B = 26, T = 10;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("class", "chart");
    const peak = Math.max(1, ...points.map((p) => p[1]));
    const slot = (W - L - 8) / Math.max(points.length, 1), bar = Math.max(slot * 0.7, 1);
    const every = Math.max(1, Math.round(points.length / 8));
    const add = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text !== undefined) n.textContent = text;
      svg.append(n); return n;
    };
    add("line", { x1: L, y1: H - B, x2: W - 8, y2: H - B, class: "axis" });
    add("text", { x: L - 6, y: T + 4, class: "tick", "text-anchor": "end" }, num(peak));
    points.forEach(([label, v], i) => {
      const h = (H - B - T) * (v / peak), x = L + i * slot + (slot - bar) / 2;
      const r = add("rect", { x, y: H - B - h, width: bar, height: h, class: "bar" });
      const tip = document.createElementNS(NS, "title"); tip.textContent = label + ": " + num(v); r.append(tip);
      if (i % every === 0) add("text", { x: x + bar / 2, y: H - 8, class: "tick", "text-anchor": "middle" }, label);
    });
    return svg;
  }

  // ---- start --------------------------------------------------------------------------------------------
  async function health() {
    try {
      const r = await fetch("/health", { credentials: "omit" });
      if (!r.ok) { const e = await refusal(r); banner(explain(e)); }
    } catch (e) { banner(explain(e)); }
  }
  function start() {
    showWallet();
    const page = document.body.dataset.page;
    if (page === "wallet") {
      $("#unlock-form").addEventListener("submit", unlockKeystore);
      $("#connect-injected").addEventListener("click", connectInjected);
      $("#lock").addEventListener("click", () => { sessionStorage.removeItem(WALLET_KEY); showWallet(); $("#unlock-result").textContent = t("Locked: the key is forgotten."); });
    }
    if (page === "asset") {
      const form = $("#request-form");
      if (form) form.addEventListener("submit", requestGrant);
      assetIncidents();
    }
    if (page === "consumer") {
      loadConsumer();
      $("#proof-file").addEventListener("change", verifyFile);
      $("#call-form").addEventListener("submit", callService);
      $("#compute-form").addEventListener("submit", submitJob);
    }
    if (page === "provider") {
      loadProvider();
      $("#usage-period").addEventListener("change", () => loadUsage().catch(fail));
    }
    if (page !== "catalog") health();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
  window.TDSConsole = { verifyProof }; // for the browser tests and the curious: check any proof document
})();
