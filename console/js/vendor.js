// The console's browser libraries, bundled by esbuild into console/static/vendor/tds-vendor.js (npm run
// build:console; ./scripts/bootstrap builds it when package-lock.json or this file changes). Pinned in
// package-lock.json; their licences are kept at the end of the bundle (--legal-comments=eof) and listed in
// console/static/vendor/LICENSES.txt. Exposed to the page as window.TDSVendor.
export {
  Wallet, TypedDataEncoder, Signature, AbiCoder, Interface, JsonRpcProvider, getAddress, keccak256,
  toUtf8Bytes, hexlify, isHexString, verifyTypedData, sha256,
} from "ethers";
export { StandardMerkleTree } from "@openzeppelin/merkle-tree";
export { standardLeafHash } from "@openzeppelin/merkle-tree/dist/hashes";
