'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture } = require('@nomicfoundation/hardhat-network-helpers');
const { ROLE_PROVIDER, ASSET_URI, h, sha256, ownersHash, parentsHash, onboardedFixture } = require('./helpers');

const A = sha256('asset A');
const B = sha256('asset B');
const C = sha256('asset C');
const V2 = sha256('asset A v2');
const V3 = sha256('asset A v3');

/** onboardedFixture + asset A (owners provider/owner2 at 7000/3000). */
async function ownedAssetFixture() {
  const f = await onboardedFixture();
  const owners = [f.provider.address, f.owner2.address];
  const shares = [7000, 3000];
  await f.assets.connect(f.provider).registerAsset(A, 100, h('meta A'), 'ipfs://a', [], owners, shares);
  return { ...f, owners, shares };
}

describe('AssetRegistry', function () {
  describe('registerAsset', function () {
    it('registers a provider-owned asset (no owners) and emits AssetRegistered', async function () {
      const { assets, provider } = await loadFixture(onboardedFixture);
      await expect(assets.connect(provider).registerAsset(A, 4096, h('meta'), ASSET_URI, [], [], []))
        .to.emit(assets, 'AssetRegistered')
        .withArgs(A, provider.address, 4096, h('meta'), ASSET_URI, [], [], []);
      const a = await assets.getAsset(A);
      expect(a.provider).to.equal(provider.address);
      expect(a.size).to.equal(4096n);
      expect(a.version).to.equal(1n);
      expect(a.active).to.equal(true);
      expect(a.metadataHash).to.equal(h('meta'));
      expect(a.ownersHash).to.equal(ethers.ZeroHash);
      expect(a.previousVersion).to.equal(ethers.ZeroHash);
      expect(await assets.requireActiveAsset(A)).to.equal(provider.address);
    });

    it('stores keccak256(abi.encode(owners, shares)) for co-owned assets', async function () {
      const { assets, provider, owner2 } = await loadFixture(onboardedFixture);
      const owners = [provider.address, owner2.address];
      await expect(assets.connect(provider).registerAsset(A, 1, h('m'), 'ipfs://a', [], owners, [7000, 3000]))
        .to.emit(assets, 'AssetRegistered')
        .withArgs(A, provider.address, 1, h('m'), 'ipfs://a', [], owners, [7000, 3000]);
      expect((await assets.getAsset(A)).ownersHash).to.equal(ownersHash(owners, [7000, 3000]));
      // a single owner with 100 % is also fine
      await assets.connect(provider).registerAsset(B, 1, h('m'), '', [], [owner2.address], [10000]);
      expect((await assets.getAsset(B)).ownersHash).to.equal(ownersHash([owner2.address], [10000]));
    });

    it('records lineage: parents must exist (AssetParentUnknown otherwise)', async function () {
      const { assets, provider, provider2 } = await loadFixture(onboardedFixture);
      await assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [], []);
      await assets.connect(provider2).registerAsset(B, 1, h('m'), '', [], [], []);
      await expect(assets.connect(provider).registerAsset(C, 2, h('m'), 'derived', [A, B], [], []))
        .to.emit(assets, 'AssetRegistered')
        .withArgs(C, provider.address, 2, h('m'), 'derived', [A, B], [], []);
      const unknown = sha256('nowhere');
      await expect(assets.connect(provider).registerAsset(V2, 2, h('m'), '', [A, unknown], [], []))
        .to.be.revertedWithCustomError(assets, 'AssetParentUnknown')
        .withArgs(unknown);
      // an asset cannot be its own parent
      await expect(assets.connect(provider).registerAsset(V3, 2, h('m'), '', [V3], [], []))
        .to.be.revertedWithCustomError(assets, 'AssetParentUnknown')
        .withArgs(V3);
    });

    it('rejects a duplicate content hash (AssetAlreadyRegistered), from any provider', async function () {
      const { assets, provider, provider2 } = await loadFixture(ownedAssetFixture);
      await expect(assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [], []))
        .to.be.revertedWithCustomError(assets, 'AssetAlreadyRegistered')
        .withArgs(A);
      await expect(assets.connect(provider2).registerAsset(A, 1, h('m'), '', [], [], []))
        .to.be.revertedWithCustomError(assets, 'AssetAlreadyRegistered')
        .withArgs(A);
    });

    it('rejects the zero content hash (AssetZeroHash)', async function () {
      const { assets, provider } = await loadFixture(onboardedFixture);
      await expect(assets.connect(provider).registerAsset(ethers.ZeroHash, 1, h('m'), '', [], [], []))
        .to.be.revertedWithCustomError(assets, 'AssetZeroHash');
    });

    it('rejects non-members, non-providers and suspended providers', async function () {
      const { assets, participants, provider, consumer, auditor, outsider } = await loadFixture(onboardedFixture);
      await expect(assets.connect(outsider).registerAsset(A, 1, h('m'), '', [], [], []))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
        .withArgs(outsider.address);
      await expect(assets.connect(consumer).registerAsset(A, 1, h('m'), '', [], [], []))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(consumer.address, ROLE_PROVIDER);
      await expect(assets.connect(auditor).registerAsset(A, 1, h('m'), '', [], [], []))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(auditor.address, ROLE_PROVIDER);
      await participants.suspend(provider.address);
      await expect(assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [], []))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(provider.address);
      await participants.reinstate(provider.address);
      await expect(assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [], [])).to.emit(
        assets,
        'AssetRegistered',
      );
    });

    it('rejects owners/shares of different lengths (AssetOwnersLengthMismatch)', async function () {
      const { assets, provider, owner2 } = await loadFixture(onboardedFixture);
      await expect(
        assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [provider.address, owner2.address], [10000]),
      )
        .to.be.revertedWithCustomError(assets, 'AssetOwnersLengthMismatch')
        .withArgs(2, 1);
      await expect(assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [], [10000]))
        .to.be.revertedWithCustomError(assets, 'AssetOwnersLengthMismatch')
        .withArgs(0, 1);
    });

    for (const shares of [[7000, 2999], [7000, 3001], [0, 0], [65535, 65535]]) {
      it(`rejects shares ${shares} not summing to 10,000 (AssetInvalidShares)`, async function () {
        const { assets, provider, owner2 } = await loadFixture(onboardedFixture);
        await expect(
          assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [provider.address, owner2.address], shares),
        )
          .to.be.revertedWithCustomError(assets, 'AssetInvalidShares')
          .withArgs(shares[0] + shares[1]);
      });
    }

    it('rejects a zero-address owner (AssetInvalidOwner)', async function () {
      const { assets, provider } = await loadFixture(onboardedFixture);
      await expect(
        assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [provider.address, ethers.ZeroAddress], [5000, 5000]),
      )
        .to.be.revertedWithCustomError(assets, 'AssetInvalidOwner')
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe('registerVersion', function () {
    it('increments the version, links the previous one and carries the owners over', async function () {
      const { assets, provider, owners, shares } = await loadFixture(ownedAssetFixture);
      const tx = assets.connect(provider).registerVersion(A, V2, 200, h('meta v2'), 'ipfs://a2');
      await expect(tx)
        .to.emit(assets, 'AssetRegistered')
        .withArgs(V2, provider.address, 200, h('meta v2'), 'ipfs://a2', [], [], []);
      await expect(tx).to.emit(assets, 'AssetVersionRegistered').withArgs(V2, A, 2);
      const v2 = await assets.getAsset(V2);
      expect(v2.provider).to.equal(provider.address);
      expect(v2.size).to.equal(200n);
      expect(v2.version).to.equal(2n);
      expect(v2.active).to.equal(true);
      expect(v2.metadataHash).to.equal(h('meta v2'));
      expect(v2.previousVersion).to.equal(A);
      expect(v2.ownersHash).to.equal(ownersHash(owners, shares));
      await assets.checkOwners(V2, owners, shares); // does not revert

      await expect(assets.connect(provider).registerVersion(V2, V3, 300, h('meta v3'), 'ipfs://a3'))
        .to.emit(assets, 'AssetVersionRegistered')
        .withArgs(V3, V2, 3);
      const v3 = await assets.getAsset(V3);
      expect(v3.version).to.equal(3n);
      expect(v3.previousVersion).to.equal(V2);
      expect(v3.ownersHash).to.equal(ownersHash(owners, shares));
      // the previous versions are untouched
      expect((await assets.getAsset(A)).version).to.equal(1n);
      expect((await assets.getAsset(A)).active).to.equal(true);
    });

    it('keeps a provider-owned asset provider-owned', async function () {
      const { assets, provider } = await loadFixture(onboardedFixture);
      await assets.connect(provider).registerAsset(B, 1, h('m'), '', [], [], []);
      await assets.connect(provider).registerVersion(B, V2, 2, h('m2'), '');
      expect((await assets.getAsset(V2)).ownersHash).to.equal(ethers.ZeroHash);
      await assets.checkOwners(V2, [], []);
    });

    it('rejects an unknown previous asset (AssetUnknown)', async function () {
      const { assets, provider } = await loadFixture(onboardedFixture);
      await expect(assets.connect(provider).registerVersion(B, V2, 1, h('m'), ''))
        .to.be.revertedWithCustomError(assets, 'AssetUnknown')
        .withArgs(B);
    });

    it('rejects another provider (AssetNotProvider)', async function () {
      const { assets, provider2 } = await loadFixture(ownedAssetFixture);
      await expect(assets.connect(provider2).registerVersion(A, V2, 1, h('m'), ''))
        .to.be.revertedWithCustomError(assets, 'AssetNotProvider')
        .withArgs(A, provider2.address);
    });

    it('rejects an already registered or zero content hash', async function () {
      const { assets, provider } = await loadFixture(ownedAssetFixture);
      await expect(assets.connect(provider).registerVersion(A, A, 1, h('m'), ''))
        .to.be.revertedWithCustomError(assets, 'AssetAlreadyRegistered')
        .withArgs(A);
      await expect(assets.connect(provider).registerVersion(A, ethers.ZeroHash, 1, h('m'), ''))
        .to.be.revertedWithCustomError(assets, 'AssetZeroHash');
    });

    it('rejects a suspended provider', async function () {
      const { assets, participants, provider } = await loadFixture(ownedAssetFixture);
      await participants.suspend(provider.address);
      await expect(assets.connect(provider).registerVersion(A, V2, 1, h('m'), ''))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(provider.address);
    });
  });

  describe('deactivate / requireActiveAsset', function () {
    it('deactivates with an event; requireActiveAsset then reverts (AssetInactive)', async function () {
      const { assets, provider } = await loadFixture(ownedAssetFixture);
      await expect(assets.connect(provider).deactivate(A))
        .to.emit(assets, 'AssetDeactivated')
        .withArgs(A, provider.address);
      expect((await assets.getAsset(A)).active).to.equal(false);
      await expect(assets.requireActiveAsset(A)).to.be.revertedWithCustomError(assets, 'AssetInactive').withArgs(A);
      await expect(assets.connect(provider).deactivate(A))
        .to.be.revertedWithCustomError(assets, 'AssetInactive')
        .withArgs(A);
    });

    it('rejects another provider (AssetNotProvider) and unknown assets (AssetUnknown)', async function () {
      const { assets, provider2 } = await loadFixture(ownedAssetFixture);
      await expect(assets.connect(provider2).deactivate(A))
        .to.be.revertedWithCustomError(assets, 'AssetNotProvider')
        .withArgs(A, provider2.address);
      await expect(assets.connect(provider2).deactivate(B))
        .to.be.revertedWithCustomError(assets, 'AssetUnknown')
        .withArgs(B);
      await expect(assets.requireActiveAsset(B)).to.be.revertedWithCustomError(assets, 'AssetUnknown').withArgs(B);
    });

    it('returns an empty record for an unknown asset', async function () {
      const { assets } = await loadFixture(onboardedFixture);
      const a = await assets.getAsset(B);
      expect(a.provider).to.equal(ethers.ZeroAddress);
      expect(a.version).to.equal(0n);
    });
  });

  describe('checkOwners', function () {
    it('accepts exactly the registered owners and shares', async function () {
      const { assets, owners, shares } = await loadFixture(ownedAssetFixture);
      await assets.checkOwners(A, owners, shares);
    });

    it('rejects anything else (AssetOwnersMismatch)', async function () {
      const { assets, provider, owner2, owners } = await loadFixture(ownedAssetFixture);
      const bad = [
        [owners, [3000, 7000]],
        [[owner2.address, provider.address], [7000, 3000]],
        [[provider.address], [10000]],
        [[], []],
      ];
      for (const [o, s] of bad) {
        await expect(assets.checkOwners(A, o, s)).to.be.revertedWithCustomError(assets, 'AssetOwnersMismatch').withArgs(A);
      }
    });

    it('accepts empty owners for a provider-owned asset only', async function () {
      const { assets, provider } = await loadFixture(onboardedFixture);
      await assets.connect(provider).registerAsset(B, 1, h('m'), '', [], [], []);
      await assets.checkOwners(B, [], []);
      await expect(assets.checkOwners(B, [provider.address], [10000]))
        .to.be.revertedWithCustomError(assets, 'AssetOwnersMismatch')
        .withArgs(B);
    });

    it('rejects an unknown asset (AssetUnknown)', async function () {
      const { assets } = await loadFixture(onboardedFixture);
      await expect(assets.checkOwners(C, [], [])).to.be.revertedWithCustomError(assets, 'AssetUnknown').withArgs(C);
    });
  });

  describe('payoutOf (provider, owners hash, parents hash)', function () {
    it('keeps keccak256(abi.encode(parents)) in order; versions inherit owners and parents', async function () {
      const { assets, provider, provider2, owner2 } = await loadFixture(onboardedFixture);
      await assets.connect(provider).registerAsset(A, 1, h('m'), '', [], [], []);
      await assets.connect(provider2).registerAsset(B, 1, h('m'), '', [], [owner2.address], [10000]);
      let [prov, oh, ph] = await assets.payoutOf(A);
      expect([prov, oh, ph]).to.deep.equal([provider.address, ethers.ZeroHash, ethers.ZeroHash]);
      [prov, oh, ph] = await assets.payoutOf(B);
      expect([prov, oh, ph]).to.deep.equal([provider2.address, ownersHash([owner2.address], [10000]), ethers.ZeroHash]);

      const owners = [provider.address, owner2.address];
      await assets.connect(provider).registerAsset(C, 2, h('m'), 'derived', [A, B], owners, [6000, 4000]);
      [prov, oh, ph] = await assets.payoutOf(C);
      expect(prov).to.equal(provider.address);
      expect(oh).to.equal(ownersHash(owners, [6000, 4000]));
      expect(ph).to.equal(parentsHash([A, B]));
      expect(ph).to.not.equal(parentsHash([B, A])); // order matters
      expect((await assets.getAsset(C)).parentsHash).to.equal(parentsHash([A, B]));

      await assets.connect(provider).registerVersion(C, V2, 3, h('m2'), '');
      expect(await assets.payoutOf(V2)).to.deep.equal([provider.address, ownersHash(owners, [6000, 4000]), parentsHash([A, B])]);
      // an unknown asset has no provider
      expect(await assets.payoutOf(sha256('nowhere'))).to.deep.equal([ethers.ZeroAddress, ethers.ZeroHash, ethers.ZeroHash]);
    });
  });
});
