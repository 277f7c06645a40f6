#!/usr/bin/env node
// Verify a TDS proof document (tds-proof-v1) with nothing but @openzeppelin/merkle-tree and its own
// dependencies (no TDS code).
//
// Usage: node examples/verify-proof.js proof.json [--rpc URL]
//   offline:     the Merkle path (values -> leaf -> root) and the document's own anchorer/provider fields.
//                It cannot tell whether the root is really anchored, nor by whom: it says so.
//   --rpc URL:   also on-chain, with plain JSON-RPC eth_call: the root is anchored (getAnchor), a receipt
//                passes AnchorRegistry.verifyReceipt (anchored as receipts by the asset's provider or a
//                notary key that provider registered), an asset proof passes verifyInclusion.
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
      throw new Invalid('the document names no anchorer or no provider, so offline nobody vouches for this receipt: '
        + 'rerun with --rpc URL to check the anchorer on-chain');
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

async function onChain(doc, url) {
  const checks = [];
  const chainId = Number(BigInt(await rpc(url, 'eth_chainId', [])));
  if (doc.chain_id !== chainId) throw new Invalid(`the document names chain ${doc.chain_id}, the node is chain ${chainId}`);
  const registry = doc.contract;
  if (!registry) throw new Invalid('the document names no contract: it is not anchored yet');
  const [anchor] = await call(url, registry, 'getAnchor(bytes32)', ['bytes32'], [doc.root],
    ['(address,uint48,uint40,uint8)']);
  const anchorer = addressOf(anchor[0]);
  const kind = Number(anchor[3]);
  if (same(anchorer, ZERO_ADDRESS)) throw new Invalid(`root ${doc.root} is not anchored in ${registry} on chain ${chainId}`);
  checks.push(`on-chain: root anchored in block ${anchor[1]} by ${who(chainId, anchorer)}`);
  if (doc.kind === 'receipt') {
    if (kind !== 1) throw new Invalid(`root ${doc.root} is anchored as kind ${kind}, not as receipts (1)`);
    const assetId = doc.values[2];
    const provider = await providerOf(url, registry, assetId);
    const [ok] = await call(url, registry,
      'verifyReceipt(bytes32,bytes32[],bytes32,bytes32,bytes32,address,bytes32,uint8,uint64,uint64,bytes32)',
      ['bytes32', 'bytes32[]', ...RECEIPT_ENCODING], [doc.root, doc.proof, ...doc.values], ['bool']);
    if (!ok) throw new Invalid(await whyNot(url, registry, chainId, doc.root, anchorer, provider, assetId));
    checks.push(`on-chain: AnchorRegistry.verifyReceipt returned true (the anchorer vouches for asset ${assetId} `
      + `of ${who(chainId, provider)})`);
    if (doc.provider && !same(doc.provider, provider)) {
      throw new Invalid(`the document names provider ${doc.provider}, but AssetRegistry says asset ${assetId} is `
        + `provided by ${who(chainId, provider)}`);
    }
  } else {
    if (kind !== 2) throw new Invalid(`root ${doc.root} is anchored as kind ${kind}, not as assets (2)`);
    const [ok] = await call(url, registry, 'verifyInclusion(bytes32,bytes32[],bytes32)',
      ['bytes32', 'bytes32[]', 'bytes32'], [doc.root, doc.proof, doc.leaf], ['bool']);
    if (!ok) throw new Invalid('AnchorRegistry.verifyInclusion returned false');
    checks.push('on-chain: AnchorRegistry.verifyInclusion returned true');
  }
  if (doc.anchorer && !same(doc.anchorer, anchorer)) {
    throw new Invalid(`the document names anchorer ${doc.anchorer}, but root ${doc.root} was anchored by `
      + `${who(chainId, anchorer)}`);
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

/** Why verifyReceipt said false: who anchored, whose notary key that is, who provides the asset. */
async function whyNot(url, registry, chainId, root, anchorer, provider, assetId) {
  if (provider === null) {
    return `root ${root} was anchored by ${who(chainId, anchorer)}, but asset ${assetId} is not registered: `
      + 'no provider vouches for this receipt';
  }
  const [notary] = await call(url, registry, 'notaryOf(address)', ['address'], [anchorer], ['address', 'bool']);
  const bound = addressOf(notary);
  if (same(anchorer, provider) || same(bound, provider)) {
    return 'AnchorRegistry.verifyReceipt returned false: the values or the sibling path are not under the root';
  }
  const role = same(bound, ZERO_ADDRESS) ? '' : `, a notary key of ${bound}`;
  return `root ${root} was anchored by ${who(chainId, anchorer)}${role}, not by ${who(chainId, provider)} the `
    + `provider of asset ${assetId} nor a notary key it registered (AnchorRegistry.verifyReceipt returned false)`;
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
      throw new Invalid('not verified offline: the anchorer is not the provider; rerun with --rpc URL to check '
        + 'AnchorRegistry.notaryOf and verifyReceipt on-chain');
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
