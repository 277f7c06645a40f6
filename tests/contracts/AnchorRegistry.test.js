'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture } = require('@nomicfoundation/hardhat-network-helpers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { KIND_RECEIPTS, KIND_ASSETS, h, onboardedFixture } = require('./helpers');

// An access receipt leaf: (grantId, consumer, sequence, responseHash)
const ENCODING = ['bytes32', 'address', 'uint256', 'bytes32'];
function receiptTree(consumer, n, salt = 'r') {
  const values = Array.from({ length: n }, (_, i) => [h(`grant-${salt}`), consumer, BigInt(i), h(`${salt}-${i}`)]);
  return StandardMerkleTree.of(values, ENCODING);
}

/** onboardedFixture + one anchored receipts tree (7 leaves). */
async function anchoredFixture() {
  const f = await onboardedFixture();
  const tree = receiptTree(f.consumer.address, 7);
  await f.anchors.connect(f.provider).anchorRoot(tree.root, 7, KIND_RECEIPTS);
  return { ...f, tree };
}

describe('AnchorRegistry', function () {
  it('exposes the kind constants', async function () {
    const { anchors } = await loadFixture(onboardedFixture);
    expect(await anchors.KIND_RECEIPTS()).to.equal(1n);
    expect(await anchors.KIND_ASSETS()).to.equal(2n);
  });

  it('anchors a StandardMerkleTree root with RootAnchored and stores the anchor', async function () {
    const { anchors, provider, consumer } = await loadFixture(onboardedFixture);
    const tree = receiptTree(consumer.address, 5);
    const tx = await anchors.connect(provider).anchorRoot(tree.root, 5, KIND_RECEIPTS);
    await expect(tx).to.emit(anchors, 'RootAnchored').withArgs(tree.root, provider.address, 5, KIND_RECEIPTS);
    const receipt = await tx.wait();
    const a = await anchors.getAnchor(tree.root);
    expect(a.anchorer).to.equal(provider.address);
    expect(a.blockNumber).to.equal(BigInt(receipt.blockNumber));
    expect(a.leafCount).to.equal(5n);
    expect(a.kind).to.equal(BigInt(KIND_RECEIPTS));
  });

  it('lets any active participant anchor (consumer, auditor), both kinds', async function () {
    const { anchors, consumer, auditor } = await loadFixture(onboardedFixture);
    await expect(anchors.connect(consumer).anchorRoot(h('root1'), 1, KIND_ASSETS))
      .to.emit(anchors, 'RootAnchored')
      .withArgs(h('root1'), consumer.address, 1, KIND_ASSETS);
    await expect(anchors.connect(auditor).anchorRoot(h('root2'), 2 ** 40 - 1, KIND_RECEIPTS))
      .to.emit(anchors, 'RootAnchored')
      .withArgs(h('root2'), auditor.address, 2 ** 40 - 1, KIND_RECEIPTS);
  });

  it('verifies a real proof for every leaf', async function () {
    const { anchors, tree } = await loadFixture(anchoredFixture);
    for (const [i, value] of tree.entries()) {
      const proof = tree.getProof(i);
      const leaf = tree.leafHash(value);
      expect(StandardMerkleTree.verify(tree.root, ENCODING, value, proof)).to.equal(true);
      expect(await anchors.verifyInclusion(tree.root, proof, leaf)).to.equal(true);
    }
  });

  it('verifies a single-leaf tree (empty proof)', async function () {
    const { anchors, provider, consumer } = await loadFixture(onboardedFixture);
    const tree = receiptTree(consumer.address, 1, 'single');
    await anchors.connect(provider).anchorRoot(tree.root, 1, KIND_RECEIPTS);
    expect(tree.getProof(0)).to.deep.equal([]);
    expect(await anchors.verifyInclusion(tree.root, [], tree.leafHash(tree.at(0)))).to.equal(true);
  });

  it('rejects forged proofs and leaves', async function () {
    const { anchors, tree, consumer } = await loadFixture(anchoredFixture);
    const value = tree.at(3);
    const proof = tree.getProof(3);
    const leaf = tree.leafHash(value);
    const forged = [...proof];
    forged[0] = h('forged sibling');
    expect(await anchors.verifyInclusion(tree.root, forged, leaf)).to.equal(false);
    expect(await anchors.verifyInclusion(tree.root, proof.slice(1), leaf)).to.equal(false);
    expect(await anchors.verifyInclusion(tree.root, tree.getProof(2), leaf)).to.equal(false);
    // a tampered receipt (other response hash)
    const tampered = tree.leafHash([value[0], consumer.address, value[2], h('tampered')]);
    expect(await anchors.verifyInclusion(tree.root, proof, tampered)).to.equal(false);
    // the raw (single-hashed) encoding is not a leaf
    const single = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(ENCODING, value));
    expect(await anchors.verifyInclusion(tree.root, proof, single)).to.equal(false);
  });

  it('returns false for a valid proof under a root that was never anchored', async function () {
    const { anchors, consumer } = await loadFixture(anchoredFixture);
    const other = receiptTree(consumer.address, 4, 'other');
    expect(await anchors.verifyInclusion(other.root, other.getProof(0), other.leafHash(other.at(0)))).to.equal(false);
    expect((await anchors.getAnchor(other.root)).anchorer).to.equal(ethers.ZeroAddress);
  });

  it('rejects anchoring a root twice, by anyone (AnchorAlreadyAnchored)', async function () {
    const { anchors, provider, auditor, tree } = await loadFixture(anchoredFixture);
    for (const who of [provider, auditor]) {
      await expect(anchors.connect(who).anchorRoot(tree.root, 7, KIND_RECEIPTS))
        .to.be.revertedWithCustomError(anchors, 'AnchorAlreadyAnchored')
        .withArgs(tree.root);
    }
    await expect(anchors.connect(provider).anchorRoot(tree.root, 8, KIND_ASSETS))
      .to.be.revertedWithCustomError(anchors, 'AnchorAlreadyAnchored')
      .withArgs(tree.root);
  });

  it('rejects a zero root, zero leaves and unknown kinds', async function () {
    const { anchors, provider } = await loadFixture(onboardedFixture);
    await expect(anchors.connect(provider).anchorRoot(ethers.ZeroHash, 1, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(anchors, 'AnchorZeroRoot');
    await expect(anchors.connect(provider).anchorRoot(h('r'), 0, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(anchors, 'AnchorInvalidLeafCount')
      .withArgs(0);
    for (const kind of [0, 3, 255]) {
      await expect(anchors.connect(provider).anchorRoot(h('r'), 1, kind))
        .to.be.revertedWithCustomError(anchors, 'AnchorInvalidKind')
        .withArgs(kind);
    }
  });

  it('rejects non-members (ParticipantUnknown) and suspended members (ParticipantNotActive)', async function () {
    const { anchors, participants, provider, outsider } = await loadFixture(onboardedFixture);
    await expect(anchors.connect(outsider).anchorRoot(h('r'), 1, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
      .withArgs(outsider.address);
    await participants.suspend(provider.address);
    await expect(anchors.connect(provider).anchorRoot(h('r'), 1, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
      .withArgs(provider.address);
  });
});
