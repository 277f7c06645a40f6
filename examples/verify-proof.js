#!/usr/bin/env node
// Verify a TDS proof document with nothing but @openzeppelin/merkle-tree (no TDS code).
// Usage: node examples/verify-proof.js proof.json   -> prints "valid" (exit 0) or "INVALID" (exit 6)
// This checks the Merkle inclusion only; that the root is anchored is checked on-chain
// (AnchorRegistry.verifyInclusion or `tds audit verify-proof`).
'use strict';
const fs = require('fs');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const doc = JSON.parse(fs.readFileSync(process.argv[2] || 0, 'utf8'));
let ok = false;
try {
  ok = StandardMerkleTree.verify(doc.root, doc.leaf_encoding, doc.values, doc.proof);
} catch (err) {
  console.error(`malformed proof document: ${err.message}`);
}
console.log(ok ? `valid: leaf is under root ${doc.root} (${doc.proof.length} hashes)` : 'INVALID');
process.exit(ok ? 0 : 6);
