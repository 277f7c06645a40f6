// The operator's and auditor's console (tds console serve): the operator's desk. The operator's key signs each
// ParticipantRegistry transaction here, in the browser (the dev wallet: a keystore decrypted in this page and kept
// in sessionStorage "tds-wallet"; or an injected wallet through eth_sendTransaction), and this page sends it to the
// chain node itself (JSON-RPC eth_sendRawTransaction). The console's server only renders pages: it has no route
// that changes anything and never sees a key.
// No framework; every value goes into the page as text (textContent), never as HTML. Strings go through the t()
// function: the server hands this page their translation in the JSON config block (its "messages").
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("tds-config").textContent);
  const V = window.TDSVendor; // ethers (loaded on the operator's page only)
  const WALLET_KEY = "tds-wallet";
  const $ = (sel) => document.querySelector(sel);

  function t(id, vars) {
    let s = (cfg.messages && cfg.messages[id]) || id;
    if (vars) for (const k of Object.keys(vars)) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  }
  function say(where, text, kind) {
    if (!where) return;
    where.textContent = text;
    where.className = "result" + (kind ? " " + kind : "");
  }
  const shortHex = (h) => (h && h.length > 20 ? h.slice(0, 10) + "…" + h.slice(-4) : h || "—");

  // ---- the wallet ---------------------------------------------------------------------------------------
  function stored() { try { return JSON.parse(sessionStorage.getItem(WALLET_KEY) || "null"); } catch { return null; } }
  function showWallet() {
    const w = stored();
    const status = $("#wallet-status");
    if (status) { status.textContent = w ? t("Signed in") + " " + shortHex(w.address) : t("No wallet"); status.title = w ? w.address : ""; }
    const now = $("#wallet-now");
    if (now) now.textContent = w ? t("Signing as {address} ({kind}).", { address: w.address, kind: w.kind === "dev" ? t("dev wallet") : t("browser wallet") })
      : t("No key unlocked: unlock the operator's keystore or connect a browser wallet.");
    const lock = $("#lock");
    if (lock) lock.hidden = !w;
  }
  async function unlockKeystore(ev) {
    ev.preventDefault();
    const out = $("#unlock-result");
    const file = $("#keystore-file").files[0];
    if (!file) { say(out, t("Choose a keystore file."), "error"); return; }
    say(out, t("Decrypting the keystore in this page…"));
    let json;
    try { json = await file.text(); JSON.parse(json); } catch { say(out, t("This is not a keystore file (JSON). Nothing was stored."), "error"); return; }
    try {
      const wallet = await V.Wallet.fromEncryptedJson(json, $("#keystore-passphrase").value);
      sessionStorage.setItem(WALLET_KEY, JSON.stringify({ kind: "dev", address: wallet.address, key: wallet.privateKey }));
      $("#keystore-passphrase").value = "";
      say(out, t("Unlocked {address} for this tab.", { address: wallet.address }), "ok");
      showWallet();
    } catch (e) {
      const wrong = /password|passphrase|invalid/i.test(String(e && e.message));
      say(out, wrong ? t("Wrong passphrase: the keystore could not be decrypted. Nothing was stored.")
        : t("The keystore could not be read: {reason}", { reason: String(e && e.message) }), "error");
    }
  }
  async function connectInjected() {
    const out = $("#unlock-result");
    if (!window.ethereum) { say(out, t("No browser wallet found in this browser."), "error"); return; }
    try {
      const [address] = await window.ethereum.request({ method: "eth_requestAccounts" });
      sessionStorage.setItem(WALLET_KEY, JSON.stringify({ kind: "injected", address: V.getAddress(address) }));
      say(out, t("Connected {address}.", { address }), "ok");
      showWallet();
    } catch (e) { say(out, String((e && e.message) || e), "error"); }
  }

  // ---- the chain node -----------------------------------------------------------------------------------
  class Refused extends Error {}
  let rpcId = 0;
  async function rpc(method, params) {
    if (!cfg.rpc_url) throw new Refused(t("This console knows no chain node to send transactions to: use the tds CLI."));
    let r;
    try {
      r = await fetch(cfg.rpc_url, { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }) });
    } catch {
      throw new Refused(t("The chain node {url} cannot be reached from this browser: nothing was sent.", { url: cfg.rpc_url }));
    }
    const j = await r.json();
    if (j.error) { const e = new Refused(j.error.message || String(j.error.code)); e.data = j.error.data; throw e; }
    return j.result;
  }
  const REGISTRY_ABI = [
    "function onboard(address account, uint8 roles, bytes2 jurisdiction, bytes32 credentialHash)",
    "function suspend(address account)",
    "function reinstate(address account)",
    "function hasRole(bytes32 role, address account) view returns (bool)",
    "error ParticipantAlreadyOnboarded(address account)",
    "error ParticipantUnknown(address account)",
    "error ParticipantNotActive(address account)",
    "error ParticipantNotSuspended(address account)",
    "error ParticipantInvalidRoles(uint8 roles)",
    "error ParticipantInvalidJurisdiction(bytes2 jurisdiction)",
    "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
  ];
  function why(err) {
    const data = err && (err.data && (err.data.data || err.data));
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) {
      try {
        const e = new V.Interface(REGISTRY_ABI).parseError(data);
        const a = e.args && e.args[0];
        const known = {
          ParticipantAlreadyOnboarded: t("{address} is already onboarded.", { address: a }),
          ParticipantUnknown: t("{address} was never onboarded.", { address: a }),
          ParticipantNotActive: t("{address} is not active (already suspended).", { address: a }),
          ParticipantNotSuspended: t("{address} is not suspended, so it cannot be reinstated.", { address: a }),
          ParticipantInvalidRoles: t("Choose at least one role."),
          ParticipantInvalidJurisdiction: t("The jurisdiction must be two letters (ISO 3166-1 alpha-2), e.g. DE."),
          AccessControlUnauthorizedAccount: t("{address} is not an operator of this space: only an operator may do this.", { address: a }),
        };
        if (e && known[e.name]) return known[e.name];
      } catch { /* not one of the registry's errors */ }
    }
    return String((err && err.message) || err);
  }

  // One ParticipantRegistry call: checked with eth_estimateGas (a revert says why, before anything is signed),
  // signed by the dev wallet (or sent by the injected one), then followed to its receipt.
  async function send(fn, args, out) {
    const w = stored();
    if (!w) throw new Refused(t("Unlock the operator's key first."));
    const to = cfg.contracts && cfg.contracts.ParticipantRegistry;
    if (!to) throw new Refused(t("This console knows no ParticipantRegistry address: use the tds CLI."));
    const data = new V.Interface(REGISTRY_ABI).encodeFunctionData(fn, args);
    const chainId = Number(BigInt(await rpc("eth_chainId", [])));
    if (cfg.chain_id !== null && cfg.chain_id !== undefined && Number(cfg.chain_id) !== chainId) {
      throw new Refused(t("The node is chain {chain}, not this space's chain {expected}: nothing was sent.", { chain: chainId, expected: cfg.chain_id }));
    }
    let gas;
    try { gas = BigInt(await rpc("eth_estimateGas", [{ from: w.address, to, data }])); } catch (e) { throw new Refused(t("Refused by the contract: {reason}", { reason: why(e) })); }
    say(out, t("Signing and sending…"));
    let hash;
    if (w.kind === "dev") {
      const wallet = new V.Wallet(w.key);
      const [nonce, block, tip] = await Promise.all([rpc("eth_getTransactionCount", [w.address, "pending"]),
        rpc("eth_getBlockByNumber", ["latest", false]), rpc("eth_maxPriorityFeePerGas", []).catch(() => "0x3b9aca00")]);
      const base = BigInt((block && block.baseFeePerGas) || "0x0");
      const raw = await wallet.signTransaction({ type: 2, chainId, nonce: Number(BigInt(nonce)), to, data,
        gasLimit: gas + gas / 5n, maxPriorityFeePerGas: BigInt(tip), maxFeePerGas: base * 2n + BigInt(tip) });
      hash = await rpc("eth_sendRawTransaction", [raw]);
    } else {
      if (!window.ethereum) throw new Refused(t("The browser wallet is gone: connect it again."));
      hash = await window.ethereum.request({ method: "eth_sendTransaction", params: [{ from: w.address, to, data, gas: "0x" + (gas + gas / 5n).toString(16) }] });
    }
    say(out, t("Sent {tx}; waiting for its block…", { tx: shortHex(hash) }));
    for (let i = 0; i < 240; i++) {
      const receipt = await rpc("eth_getTransactionReceipt", [hash]);
      if (receipt) {
        if (Number(BigInt(receipt.status)) !== 1) throw new Refused(t("The transaction {tx} failed on-chain: nothing changed.", { tx: hash }));
        return { hash, block: Number(BigInt(receipt.blockNumber)) };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Refused(t("No receipt for {tx} after a minute: check the node before sending again.", { tx: hash }));
  }

  // The index follows the chain: once the change is in it (the read-only JSON API says so), show the new page.
  async function whenIndexed(address, wanted, out, done) {
    for (let i = 0; i < 60; i++) {
      try {
        const r = await fetch("/audit/participants/" + address, { credentials: "omit" });
        if (r.ok && (await r.json()).status === wanted) { say(out, done, "ok"); setTimeout(() => location.reload(), 800); return; }
      } catch { /* the console restarts: try again */ }
      await new Promise((r) => setTimeout(r, 500));
    }
    say(out, done + " " + t("The index has not caught up yet: reload this page in a moment."), "ok");
  }

  async function onboard(ev) {
    ev.preventDefault();
    const out = $("#onboard-result"), button = $("#onboard-submit");
    const address = $("#onboard-address").value.trim(), jurisdiction = $("#onboard-jurisdiction").value.trim().toUpperCase();
    const credential = $("#onboard-credential").value.trim();
    const roles = ["#role-provider", "#role-consumer", "#role-auditor"].reduce((r, id) => r | ($(id).checked ? Number($(id).value) : 0), 0);
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) { say(out, t("An address is 0x and 40 hex digits."), "error"); return; }
    if (!roles) { say(out, t("Choose at least one role."), "error"); return; }
    if (!/^[A-Z]{2}$/.test(jurisdiction)) { say(out, t("The jurisdiction must be two letters (ISO 3166-1 alpha-2), e.g. DE."), "error"); return; }
    if (!/^0x[0-9a-fA-F]{64}$/.test(credential)) { say(out, t("A credential hash is 0x and 64 hex digits (or hash a file)."), "error"); return; }
    button.disabled = true;
    try {
      const code = "0x" + Array.from(new TextEncoder().encode(jurisdiction), (b) => b.toString(16).padStart(2, "0")).join("");
      const tx = await send("onboard", [V.getAddress(address.toLowerCase()), roles, code, credential], out);
      const done = t("Onboarded {address} in block {block} (transaction {tx}).", { address, block: tx.block, tx: shortHex(tx.hash) });
      say(out, done, "ok");
      await whenIndexed(V.getAddress(address.toLowerCase()), "active", out, done);
    } catch (e) { say(out, e instanceof Refused ? e.message : why(e), "error"); } finally { button.disabled = false; }
  }
  async function member(ev) {
    const button = ev.target.closest("button[data-action]");
    if (!button) return;
    const out = $("#member-result"), action = button.dataset.action, address = button.dataset.address;
    button.disabled = true;
    try {
      const tx = await send(action, [address], out);
      const done = action === "suspend" ? t("Suspended {address} in block {block}.", { address, block: tx.block })
        : t("Reinstated {address} in block {block}.", { address, block: tx.block });
      say(out, done, "ok");
      await whenIndexed(address, action === "suspend" ? "suspended" : "active", out, done);
    } catch (e) { say(out, e instanceof Refused ? e.message : why(e), "error"); button.disabled = false; }
  }
  async function hashCredential(ev) {
    const file = ev.target.files[0];
    if (!file) return;
    const d = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    $("#onboard-credential").value = "0x" + Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function start() {
    showWallet();
    if (document.body.dataset.page !== "operator" || !V) return;
    $("#unlock-form").addEventListener("submit", unlockKeystore);
    $("#connect-injected").addEventListener("click", connectInjected);
    $("#lock").addEventListener("click", () => { sessionStorage.removeItem(WALLET_KEY); showWallet(); say($("#unlock-result"), t("Locked: the key is forgotten.")); });
    $("#onboard-form").addEventListener("submit", onboard);
    $("#credential-file").addEventListener("change", hashCredential);
    $("#operator-participants").addEventListener("click", member);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
