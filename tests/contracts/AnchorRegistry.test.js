'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture } = require('@nomicfoundation/hardhat-network-helpers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { KIND_RECEIPTS, KIND_ASSETS, ROLE_PROVIDER, h, sha256, onboardedFixture, policyFixture } = require('./helpers');

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
    await expect(tx).to.emit(anchors, 'RootAnchored')
      .withArgs(tree.root, provider.address, provider.address, 5, KIND_RECEIPTS);
    const receipt = await tx.wait();
    const a = await anchors.getAnchor(provider.address, tree.root);
    expect(a.anchorer).to.equal(provider.address);
    expect(a.blockNumber).to.equal(BigInt(receipt.blockNumber));
    expect(a.leafCount).to.equal(5n);
    expect(a.kind).to.equal(BigInt(KIND_RECEIPTS));
  });

  it('lets an active provider anchor both kinds', async function () {
    const { anchors, provider } = await loadFixture(onboardedFixture);
    await expect(anchors.connect(provider).anchorRoot(h('root1'), 1, KIND_ASSETS))
      .to.emit(anchors, 'RootAnchored')
      .withArgs(h('root1'), provider.address, provider.address, 1, KIND_ASSETS);
    await expect(anchors.connect(provider).anchorRoot(h('root2'), 2 ** 40 - 1, KIND_RECEIPTS))
      .to.emit(anchors, 'RootAnchored')
      .withArgs(h('root2'), provider.address, provider.address, 2 ** 40 - 1, KIND_RECEIPTS);
  });

  it('rejects anchoring by consumers, auditors and outsiders, either kind (AnchorUnauthorized)', async function () {
    const { anchors, provider, consumer, auditor, outsider } = await loadFixture(onboardedFixture);
    for (const who of [consumer, auditor, outsider]) {
      for (const kind of [KIND_RECEIPTS, KIND_ASSETS]) {
        await expect(anchors.connect(who).anchorRoot(h('forged'), 3, kind))
          .to.be.revertedWithCustomError(anchors, 'AnchorUnauthorized')
          .withArgs(who.address, kind);
      }
    }
    for (const who of [provider, consumer, auditor, outsider]) {
      expect((await anchors.getAnchor(who.address, h('forged'))).anchorer).to.equal(ethers.ZeroAddress);
      for (const kind of [KIND_RECEIPTS, KIND_ASSETS]) {
        expect(await anchors.principalOf(who.address, kind)).to.equal(who === provider ? provider.address : ethers.ZeroAddress);
      }
    }
  });

  it('verifies a real proof for every leaf', async function () {
    const { anchors, provider, tree } = await loadFixture(anchoredFixture);
    for (const [i, value] of tree.entries()) {
      const proof = tree.getProof(i);
      const leaf = tree.leafHash(value);
      expect(StandardMerkleTree.verify(tree.root, ENCODING, value, proof)).to.equal(true);
      expect(await anchors.verifyInclusion(provider.address, tree.root, proof, leaf)).to.equal(true);
    }
  });

  it('verifies a single-leaf tree (empty proof)', async function () {
    const { anchors, provider, consumer } = await loadFixture(onboardedFixture);
    const tree = receiptTree(consumer.address, 1, 'single');
    await anchors.connect(provider).anchorRoot(tree.root, 1, KIND_RECEIPTS);
    expect(tree.getProof(0)).to.deep.equal([]);
    expect(await anchors.verifyInclusion(provider.address, tree.root, [], tree.leafHash(tree.at(0)))).to.equal(true);
  });

  it('rejects forged proofs and leaves', async function () {
    const { anchors, provider, tree, consumer } = await loadFixture(anchoredFixture);
    const inclusion = (root, proof, leaf) => anchors.verifyInclusion(provider.address, root, proof, leaf);
    const value = tree.at(3);
    const proof = tree.getProof(3);
    const leaf = tree.leafHash(value);
    const forged = [...proof];
    forged[0] = h('forged sibling');
    expect(await inclusion(tree.root, proof, leaf)).to.equal(true);
    expect(await inclusion(tree.root, forged, leaf)).to.equal(false);
    expect(await inclusion(tree.root, proof.slice(1), leaf)).to.equal(false);
    expect(await inclusion(tree.root, tree.getProof(2), leaf)).to.equal(false);
    // a tampered receipt (other response hash)
    const tampered = tree.leafHash([value[0], consumer.address, value[2], h('tampered')]);
    expect(await inclusion(tree.root, proof, tampered)).to.equal(false);
    // the raw (single-hashed) encoding is not a leaf
    const single = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(ENCODING, value));
    expect(await inclusion(tree.root, proof, single)).to.equal(false);
  });

  it('returns false for a valid proof under a root that was never anchored, or not by that provider', async function () {
    const { anchors, provider, provider2, consumer, tree } = await loadFixture(anchoredFixture);
    const other = receiptTree(consumer.address, 4, 'other');
    expect(await anchors.verifyInclusion(provider.address, other.root, other.getProof(0), other.leafHash(other.at(0))))
      .to.equal(false);
    expect((await anchors.getAnchor(provider.address, other.root)).anchorer).to.equal(ethers.ZeroAddress);
    // provider anchored tree.root: under provider2 (or the zero address) it is not anchored
    for (const who of [provider2.address, ethers.ZeroAddress]) {
      expect(await anchors.verifyInclusion(who, tree.root, tree.getProof(0), tree.leafHash(tree.at(0)))).to.equal(false);
      expect((await anchors.getAnchor(who, tree.root)).anchorer).to.equal(ethers.ZeroAddress);
    }
  });

  it('rejects a provider anchoring its root twice, either kind (AnchorAlreadyAnchored(provider, root))', async function () {
    const { anchors, provider, tree } = await loadFixture(anchoredFixture);
    await expect(anchors.connect(provider).anchorRoot(tree.root, 7, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(anchors, 'AnchorAlreadyAnchored')
      .withArgs(provider.address, tree.root);
    await expect(anchors.connect(provider).anchorRoot(tree.root, 8, KIND_ASSETS))
      .to.be.revertedWithCustomError(anchors, 'AnchorAlreadyAnchored')
      .withArgs(provider.address, tree.root);
  });

  it('keys anchors by provider: a squatter anchoring a root first does not block its provider', async function () {
    const { anchors, provider, provider2, consumer } = await loadFixture(onboardedFixture);
    const tree = receiptTree(consumer.address, 3, 'squat');
    await expect(anchors.connect(provider2).anchorRoot(tree.root, 99, KIND_ASSETS))
      .to.emit(anchors, 'RootAnchored')
      .withArgs(tree.root, provider2.address, provider2.address, 99, KIND_ASSETS);
    const tx = anchors.connect(provider).anchorRoot(tree.root, 3, KIND_RECEIPTS);
    await expect(tx).to.emit(anchors, 'RootAnchored')
      .withArgs(tree.root, provider.address, provider.address, 3, KIND_RECEIPTS);
    const mine = await anchors.getAnchor(provider.address, tree.root);
    const squat = await anchors.getAnchor(provider2.address, tree.root);
    expect([mine.anchorer, mine.leafCount, mine.kind]).to.deep.equal([provider.address, 3n, BigInt(KIND_RECEIPTS)]);
    expect([squat.anchorer, squat.leafCount, squat.kind]).to.deep.equal([provider2.address, 99n, BigInt(KIND_ASSETS)]);
    await expect(anchors.connect(provider2).anchorRoot(tree.root, 3, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(anchors, 'AnchorAlreadyAnchored')
      .withArgs(provider2.address, tree.root);
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

  it('rejects a suspended provider (AnchorUnauthorized)', async function () {
    const { anchors, participants, provider } = await loadFixture(onboardedFixture);
    await participants.suspend(provider.address);
    await expect(anchors.connect(provider).anchorRoot(h('r'), 1, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(anchors, 'AnchorUnauthorized')
      .withArgs(provider.address, KIND_RECEIPTS);
  });
});

// The gateway's receipt leaf (notary/receipts.py RECEIPT_LEAF_ENCODING).
const RECEIPT = ['bytes32', 'bytes32', 'bytes32', 'address', 'bytes32', 'uint8', 'uint64', 'uint64', 'bytes32'];
function receipts(assetId, consumer, n, salt = 'a') {
  const values = Array.from({ length: n }, (_, i) => [
    ethers.id(`rcpt-${salt}-${i}`), h(`grant-${salt}`), assetId, consumer, ethers.id('research'),
    i % 2, 1000 + i, 1_700_000_000 + i, sha256(`bytes-${salt}`),
  ]);
  return StandardMerkleTree.of(values, RECEIPT);
}
const verify = (anchors, tree, i, values) => anchors.verifyReceipt(tree.root, tree.getProof(i), ...(values || tree.at(i)));

/** policyFixture (ASSET_ID of provider) + a notary key registered by provider. */
async function notaryFixture() {
  const f = await policyFixture();
  const notary = ethers.Wallet.createRandom().connect(ethers.provider);
  await f.admin.sendTransaction({ to: notary.address, value: ethers.parseEther('1') });
  await f.anchors.connect(f.provider).registerNotary(notary.address);
  return { ...f, notary };
}

describe('AnchorRegistry notary keys', function () {
  it('registers a key (NotaryRegistered) bound to the provider; notaryOf tells', async function () {
    const { anchors, provider } = await loadFixture(onboardedFixture);
    const key = ethers.Wallet.createRandom().address;
    expect(await anchors.notaryOf(key)).to.deep.equal([ethers.ZeroAddress, false]);
    await expect(anchors.connect(provider).registerNotary(key))
      .to.emit(anchors, 'NotaryRegistered')
      .withArgs(key, provider.address);
    expect(await anchors.notaryOf(key)).to.deep.equal([provider.address, true]);
  });

  it('lets only active providers register keys', async function () {
    const { anchors, participants, provider, consumer, outsider } = await loadFixture(onboardedFixture);
    const key = ethers.Wallet.createRandom().address;
    await expect(anchors.connect(consumer).registerNotary(key))
      .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
      .withArgs(consumer.address, ROLE_PROVIDER);
    await expect(anchors.connect(outsider).registerNotary(key))
      .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
      .withArgs(outsider.address);
    await participants.suspend(provider.address);
    await expect(anchors.connect(provider).registerNotary(key))
      .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
      .withArgs(provider.address);
  });

  it('rejects the zero address and the provider itself (AnchorNotaryInvalid)', async function () {
    const { anchors, provider } = await loadFixture(onboardedFixture);
    for (const key of [ethers.ZeroAddress, provider.address]) {
      await expect(anchors.connect(provider).registerNotary(key))
        .to.be.revertedWithCustomError(anchors, 'AnchorNotaryInvalid')
        .withArgs(key);
    }
  });

  it('binds a key to one provider for ever, even after revocation (AnchorNotaryAlreadyRegistered)', async function () {
    const { anchors, provider, provider2, notary } = await loadFixture(notaryFixture);
    for (const who of [provider, provider2]) {
      await expect(anchors.connect(who).registerNotary(notary.address))
        .to.be.revertedWithCustomError(anchors, 'AnchorNotaryAlreadyRegistered')
        .withArgs(notary.address, provider.address);
    }
    await anchors.connect(provider).revokeNotary(notary.address);
    await expect(anchors.connect(provider2).registerNotary(notary.address))
      .to.be.revertedWithCustomError(anchors, 'AnchorNotaryAlreadyRegistered')
      .withArgs(notary.address, provider.address);
  });

  it('revokes a key (NotaryRevoked); only its provider, once', async function () {
    const { anchors, provider, provider2, notary } = await loadFixture(notaryFixture);
    await expect(anchors.connect(provider2).revokeNotary(notary.address))
      .to.be.revertedWithCustomError(anchors, 'AnchorNotaryNotRegistered')
      .withArgs(notary.address, provider2.address);
    const unknown = ethers.Wallet.createRandom().address;
    await expect(anchors.connect(provider).revokeNotary(unknown))
      .to.be.revertedWithCustomError(anchors, 'AnchorNotaryNotRegistered')
      .withArgs(unknown, provider.address);
    await expect(anchors.connect(provider).revokeNotary(notary.address))
      .to.emit(anchors, 'NotaryRevoked')
      .withArgs(notary.address, provider.address);
    expect(await anchors.notaryOf(notary.address)).to.deep.equal([provider.address, false]);
    await expect(anchors.connect(provider).revokeNotary(notary.address))
      .to.be.revertedWithCustomError(anchors, 'AnchorNotaryAlreadyRevoked')
      .withArgs(notary.address);
  });

  it('lets a notary key anchor receipts roots only, while it and its provider are active', async function () {
    const { anchors, participants, provider, notary } = await loadFixture(notaryFixture);
    expect(await anchors.principalOf(notary.address, KIND_RECEIPTS)).to.equal(provider.address);
    expect(await anchors.principalOf(notary.address, KIND_ASSETS)).to.equal(ethers.ZeroAddress);
    await expect(anchors.connect(notary).anchorRoot(h('n1'), 4, KIND_RECEIPTS))
      .to.emit(anchors, 'RootAnchored')
      .withArgs(h('n1'), provider.address, notary.address, 4, KIND_RECEIPTS);
    const a = await anchors.getAnchor(provider.address, h('n1'));
    expect(a.anchorer).to.equal(notary.address); // the anchor is the provider's, sent by its notary key
    expect((await anchors.getAnchor(notary.address, h('n1'))).anchorer).to.equal(ethers.ZeroAddress);
    await expect(anchors.connect(notary).anchorRoot(h('n2'), 4, KIND_ASSETS))
      .to.be.revertedWithCustomError(anchors, 'AnchorUnauthorized')
      .withArgs(notary.address, KIND_ASSETS);
    await participants.suspend(provider.address);
    expect(await anchors.principalOf(notary.address, KIND_RECEIPTS)).to.equal(ethers.ZeroAddress);
    await expect(anchors.connect(notary).anchorRoot(h('n3'), 4, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(anchors, 'AnchorUnauthorized')
      .withArgs(notary.address, KIND_RECEIPTS);
    await participants.reinstate(provider.address);
    await anchors.connect(provider).revokeNotary(notary.address);
    await expect(anchors.connect(notary).anchorRoot(h('n3'), 4, KIND_RECEIPTS))
      .to.be.revertedWithCustomError(anchors, 'AnchorUnauthorized')
      .withArgs(notary.address, KIND_RECEIPTS);
  });

  it('counts a notary key\'s anchor as its provider\'s: the provider cannot anchor that root again, nor the key', async function () {
    const { anchors, provider, notary } = await loadFixture(notaryFixture);
    await anchors.connect(notary).anchorRoot(h('n1'), 4, KIND_RECEIPTS);
    for (const who of [provider, notary]) {
      await expect(anchors.connect(who).anchorRoot(h('n1'), 4, KIND_RECEIPTS))
        .to.be.revertedWithCustomError(anchors, 'AnchorAlreadyAnchored')
        .withArgs(provider.address, h('n1'));
    }
  });
});

describe('AnchorRegistry.verifyReceipt', function () {
  it('accepts every receipt under a root its asset\'s provider anchored', async function () {
    const { anchors, provider, consumer, assetId } = await loadFixture(policyFixture);
    const tree = receipts(assetId, consumer.address, 5);
    await anchors.connect(provider).anchorRoot(tree.root, 5, KIND_RECEIPTS);
    for (let i = 0; i < 5; i++) expect(await verify(anchors, tree, i)).to.equal(true);
  });

  it('accepts receipts anchored by the provider\'s notary key, also after the key is revoked', async function () {
    const { anchors, provider, notary, consumer, assetId } = await loadFixture(notaryFixture);
    const tree = receipts(assetId, consumer.address, 3, 'n');
    await anchors.connect(notary).anchorRoot(tree.root, 3, KIND_RECEIPTS);
    expect(await verify(anchors, tree, 1)).to.equal(true);
    await anchors.connect(provider).revokeNotary(notary.address);
    expect(await verify(anchors, tree, 1)).to.equal(true);
  });

  it('rejects receipts of an asset under a root anchored by another provider (or its notary key)', async function () {
    const { anchors, provider2, consumer, assetId } = await loadFixture(policyFixture);
    const tree = receipts(assetId, consumer.address, 3, 'forged');
    await anchors.connect(provider2).anchorRoot(tree.root, 3, KIND_RECEIPTS);
    expect(await anchors.verifyInclusion(provider2.address, tree.root, tree.getProof(0), tree.leafHash(tree.at(0))))
      .to.equal(true);
    expect(await verify(anchors, tree, 0)).to.equal(false);
    const key2 = ethers.Wallet.createRandom().connect(ethers.provider);
    await provider2.sendTransaction({ to: key2.address, value: ethers.parseEther('1') });
    await anchors.connect(provider2).registerNotary(key2.address);
    const tree2 = receipts(assetId, consumer.address, 2, 'forged2');
    await anchors.connect(key2).anchorRoot(tree2.root, 2, KIND_RECEIPTS);
    expect(await verify(anchors, tree2, 0)).to.equal(false);
  });

  it('accepts the provider\'s receipts although a squatter anchored their root first (either kind)', async function () {
    const { anchors, provider, provider2, consumer, assetId } = await loadFixture(policyFixture);
    for (const kind of [KIND_RECEIPTS, KIND_ASSETS]) {
      const tree = receipts(assetId, consumer.address, 4, `squat-${kind}`);
      await anchors.connect(provider2).anchorRoot(tree.root, 4, kind);
      expect(await verify(anchors, tree, 1)).to.equal(false); // the squatter's anchor proves nothing
      await expect(anchors.connect(provider).anchorRoot(tree.root, 4, KIND_RECEIPTS))
        .to.emit(anchors, 'RootAnchored')
        .withArgs(tree.root, provider.address, provider.address, 4, KIND_RECEIPTS);
      for (let i = 0; i < 4; i++) expect(await verify(anchors, tree, i)).to.equal(true);
    }
  });

  it('rejects tampered values, unknown assets, assets roots and roots never anchored', async function () {
    const { anchors, provider, consumer, assetId } = await loadFixture(policyFixture);
    const tree = receipts(assetId, consumer.address, 4, 't');
    expect(await verify(anchors, tree, 0)).to.equal(false); // not anchored yet
    await anchors.connect(provider).anchorRoot(tree.root, 4, KIND_RECEIPTS);
    const tampered = [...tree.at(2)];
    tampered[6] = 999999; // bytes
    expect(await verify(anchors, tree, 2, tampered)).to.equal(false);
    const unknownAsset = receipts(sha256('never registered'), consumer.address, 2, 'u');
    await anchors.connect(provider).anchorRoot(unknownAsset.root, 2, KIND_RECEIPTS);
    expect(await verify(anchors, unknownAsset, 0)).to.equal(false);
    const asAssets = receipts(assetId, consumer.address, 2, 'k');
    await anchors.connect(provider).anchorRoot(asAssets.root, 2, KIND_ASSETS);
    expect(await verify(anchors, asAssets, 0)).to.equal(false);
  });
});
