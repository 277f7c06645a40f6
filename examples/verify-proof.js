#!/usr/bin/env node
// Verify a TDS proof document (tds-proof-v1) with nothing but @openzeppelin/merkle-tree and its own
// dependencies (no TDS code).
//
// Usage: node examples/verify-proof.js proof.json [--rpc URL]
//   offline:     the Merkle path (values -> leaf -> root) and the document's own anchorer/provider fields.
//                It cannot tell whether the root is really anchored, nor by whom: it says so.
//   --rpc URL:   also on-chain, with plain JSON-RPC eth_call: anchors are keyed by (provider, root), so the
//                root must be anchored for the asset's provider (getAnchor(provider, root); a receipt then
//                passes AnchorRegistry.verifyReceipt: anchored as receipts by that provider or a notary key it
//                registered) or, for an asset proof, for the provider it names (verifyInclusion). The same
//                root anchored by anyone else proves nothing; the reason names who did (eth_getLogs).
// Prints "valid ..." (exit 0) or "INVALID: <reason>" (exit 6); a usage error exits 2.
'use strict';
const fs = require('fs');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { encode, decode } = require('@metamask/abi-utils');
const { keccak256 } = require('ethereum-cryptography/keccak');
const { utf8ToBytes, bytesToHex } = require('ethereum-cryptography/utils');

const RECEIPT_ENCODING = ['bytes32', 'bytes32', 'bytes32', 'address', 'bytes32', 'uint8', 'uint64', 'uint64', 'bytes32'];
const ZERO_ADDRESS = '0x' + '00'.repeat(20);

class Invalid extends Error {}

function parseArgs(argv) {
  const args = { file: null, rpc: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rpc') args.rpc = argv[++i];
    else if (argv[i].startsWith('--rpc=')) args.rpc = argv[i].slice(6);
    else if (args.file === null) args.file = argv[i];
    else usage(`unexpected argument ${argv[i]}`);
  }
  if (args.rpc === undefined || args.rpc === '') usage('--rpc needs a URL, e.g. --rpc http://127.0.0.1:8545');
  return args;
}

function usage(message) {
  console.error(`${message}\nusage: node examples/verify-proof.js proof.json [--rpc URL]`);
  process.exit(2);
}

const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
const did = (chainId, address) => `did:pkh:eip155:${chainId}:${address}`;
const who = (chainId, address) => (chainId ? `${address} (${did(chainId, address)})` : address);

function offline(doc) {
  let ok;
  try {
    ok = StandardMerkleTree.verify(doc.root, doc.leaf_encoding, doc.values, doc.proof);
  } catch (err) {
    throw new Invalid(`malformed proof document: ${err.message}`);
  }
  if (!ok) throw new Invalid(`the values and sibling path do not lead to root ${doc.root}`);
  const checks = [`offline: leaf is under root ${doc.root} (${doc.proof.length} hashes)`];
  if (doc.kind === 'receipt') {
    if (!doc.anchorer || !doc.provider) {
      checks.push('offline: the document names no anchorer or no provider: only the chain can tell who vouches for '
        + 'this receipt');
      return { checks, needsChain: true };
    }
    const assetId = doc.values[2];
    if (!same(doc.anchorer, doc.provider)) {
      checks.push(`offline: the document says root ${doc.root} was anchored by ${who(doc.chain_id, doc.anchorer)}, `
        + `not by the provider ${who(doc.chain_id, doc.provider)} of asset ${assetId} itself: only the chain can tell `
        + 'whether that is a notary key the provider registered');
      return { checks, needsChain: true };
    }
    checks.push(`offline: the document says the provider of asset ${assetId} anchored the root: `
      + `${who(doc.chain_id, doc.anchorer)}`);
  }
  return { checks, needsChain: false };
}

async function rpc(url, method, params) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
  } catch (err) {
    throw new Error(`cannot reach ${url}: ${err.cause ? err.cause.message : err.message}`);
  }
  const body = await response.json();
  if (body.error) throw new Error(`${method} failed: ${body.error.message}`);
  return body.result;
}

function calldata(signature, types, values) {
  const selector = bytesToHex(keccak256(utf8ToBytes(signature))).slice(0, 8);
  return '0x' + selector + Buffer.from(encode(types, values)).toString('hex');
}

async function call(url, to, signature, types, values, returns) {
  const result = await rpc(url, 'eth_call', [{ to, data: calldata(signature, types, values) }, 'latest']);
  return decode(returns, result);
}

const checksum = (address) => {
  const hex = address.toLowerCase().replace(/^0x/, '');
  const hash = bytesToHex(keccak256(utf8ToBytes(hex)));
  return '0x' + [...hex].map((c, i) => (parseInt(hash[i], 16) >= 8 ? c.toUpperCase() : c)).join('');
};
const addressOf = (value) => checksum(typeof value === 'string' ? value : '0x' + Buffer.from(value).toString('hex'));

const ROOT_ANCHORED = '0x' + bytesToHex(keccak256(utf8ToBytes('RootAnchored(bytes32,address,address,uint40,uint8)')));

async function onChain(doc, url) {
  const checks = [];
  const chainId = Number(BigInt(await rpc(url, 'eth_chainId', [])));
  if (doc.chain_id !== chainId) throw new Invalid(`the document names chain ${doc.chain_id}, the node is chain ${chainId}`);
  const registry = doc.contract;
  if (!registry) throw new Invalid('the document names no contract: it is not anchored yet');
  // Anchors are keyed by (provider, root). The one that counts for a receipt is its asset's provider's
  // (AssetRegistry, whatever the document says); for an asset proof, the provider the document names.
  const assetId = doc.kind === 'receipt' ? doc.values[2] : null;
  const provider = doc.kind === 'receipt' ? await providerOf(url, registry, assetId) : doc.provider || doc.anchorer;
  if (provider === null) {
    throw new Invalid(`asset ${assetId} is not registered: no provider vouches for this receipt `
      + `(root ${doc.root} was anchored by ${await anchorers(url, registry, chainId, doc.root)})`);
  }
  if (!provider) throw new Invalid('the asset proof names no provider or anchorer: whose anchor to check is unknown');
  const [anchor] = await call(url, registry, 'getAnchor(address,bytes32)', ['address', 'bytes32'], [provider, doc.root],
    ['(address,uint48,uint40,uint8)']);
  const anchorer = addressOf(anchor[0]);
  const kind = Number(anchor[3]);
  if (same(anchorer, ZERO_ADDRESS)) throw new Invalid(await notAnchored(url, registry, chainId, doc, provider));
  checks.push(`on-chain: root anchored in block ${anchor[1]} by ${who(chainId, anchorer)} for ${who(chainId, provider)}`);
  if (doc.kind === 'receipt') {
    if (kind !== 1) throw new Invalid(`root ${doc.root} is anchored as kind ${kind}, not as receipts (1)`);
    const [ok] = await call(url, registry,
      'verifyReceipt(bytes32,bytes32[],bytes32,bytes32,bytes32,address,bytes32,uint8,uint64,uint64,bytes32)',
      ['bytes32', 'bytes32[]', ...RECEIPT_ENCODING], [doc.root, doc.proof, ...doc.values], ['bool']);
    if (!ok) throw new Invalid('AnchorRegistry.verifyReceipt returned false: the values or the sibling path are not under the root');
    const how = same(anchorer, provider) ? 'the provider itself' : 'a notary key the provider registered';
    checks.push(`on-chain: AnchorRegistry.verifyReceipt returned true (anchored by ${how}, for asset ${assetId} `
      + `of ${who(chainId, provider)})`);
    if (doc.provider && !same(doc.provider, provider)) {
      throw new Invalid(`the document names provider ${doc.provider}, but AssetRegistry says asset ${assetId} is `
        + `provided by ${who(chainId, provider)}`);
    }
  } else {
    if (kind !== 2) throw new Invalid(`root ${doc.root} is anchored as kind ${kind}, not as assets (2)`);
    const [ok] = await call(url, registry, 'verifyInclusion(address,bytes32,bytes32[],bytes32)',
      ['address', 'bytes32', 'bytes32[]', 'bytes32'], [provider, doc.root, doc.proof, doc.leaf], ['bool']);
    if (!ok) throw new Invalid('AnchorRegistry.verifyInclusion returned false');
    checks.push('on-chain: AnchorRegistry.verifyInclusion returned true');
  }
  if (doc.anchorer && !same(doc.anchorer, anchorer)) {
    throw new Invalid(`the document names anchorer ${doc.anchorer}, but root ${doc.root} was anchored for `
      + `${who(chainId, provider)} by ${who(chainId, anchorer)}`);
  }
  return checks;
}

/** The asset's provider from the AssetRegistry that AnchorRegistry consults (null if unregistered). */
async function providerOf(url, registry, assetId) {
  const [assets] = await call(url, registry, 'assetRegistry()', [], [], ['address']);
  const [asset] = await call(url, addressOf(assets), 'getAsset(bytes32)', ['bytes32'], [assetId],
    ['(address,uint64,uint16,bool,bytes32,bytes32,bytes32)']);
  const provider = addressOf(asset[0]);
  return same(provider, ZERO_ADDRESS) ? null : provider;
}

/** Everyone who anchored `root` (RootAnchored logs: root and provider are indexed, the sender is in the data). */
async function anchorers(url, registry, chainId, root) {
  const logs = await rpc(url, 'eth_getLogs', [{ address: registry, fromBlock: '0x0', toBlock: 'latest',
    topics: [ROOT_ANCHORED, root] }]);
  if (logs.length === 0) return 'nobody';
  return logs.map((log) => {
    const provider = addressOf('0x' + log.topics[2].slice(26));
    const sender = addressOf('0x' + log.data.slice(26, 66));
    return same(sender, provider) ? who(chainId, sender)
      : `${who(chainId, sender)}, a notary key of ${who(chainId, provider)}`;
  }).join('; ');
}

/** Why the root is not anchored for `provider`: never anchored at all, or only by others. */
async function notAnchored(url, registry, chainId, doc, provider) {
  const by = await anchorers(url, registry, chainId, doc.root);
  if (by === 'nobody') return `root ${doc.root} is not anchored in ${registry} on chain ${chainId}`;
  if (doc.kind === 'receipt') {
    return `root ${doc.root} was anchored by ${by}, not by ${who(chainId, provider)} the provider of asset `
      + `${doc.values[2]} nor a notary key it registered (the receipt proves nothing)`;
  }
  return `root ${doc.root} was anchored by ${by}, not by ${who(chainId, provider)} whom the document names`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(args.file === null ? 0 : args.file, 'utf8'));
  } catch (err) {
    console.log(`INVALID: malformed proof document: ${err.message}`);
    process.exit(6);
  }
  try {
    const { checks, needsChain } = offline(doc);
    if (args.rpc) checks.push(...(await onChain(doc, args.rpc)));
    for (const line of checks) console.log(`ok  ${line}`);
    if (!args.rpc && needsChain) {
      throw new Invalid('not verified offline: the document does not name the provider as anchorer; rerun with '
        + '--rpc URL to check getAnchor(provider, root) and verifyReceipt on-chain');
    }
    console.log(args.rpc ? `valid: on chain ${doc.chain_id}, checked with eth_call at ${args.rpc}`
      : 'valid offline only: the Merkle path holds and the document names the provider as anchorer; that the root '
        + 'is anchored, and by whom, was NOT checked (rerun with --rpc URL)');
    process.exit(0);
  } catch (err) {
    if (!(err instanceof Invalid)) {
      console.error(`error: ${err.message}`);
      process.exit(3);
    }
    console.log(`INVALID: ${err.message}`);
    process.exit(6);
  }
}

main();
