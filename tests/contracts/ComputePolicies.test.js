'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture } = require('@nomicfoundation/hardhat-network-helpers');
const { ROLE_PROVIDER, h, sha256, onboardedFixture } = require('./helpers');

const DATA = sha256('patients.parquet');
const ALGO = sha256('train.py');
const OTHER = sha256('provider2 asset');
const UNKNOWN = sha256('never registered');

/** onboardedFixture + the provider's data asset and algorithm asset, and an asset of provider2. */
async function computeFixture() {
  const f = await onboardedFixture();
  await f.assets.connect(f.provider).registerAsset(DATA, 100, h('meta data'), 'ipfs://data', [], [], []);
  await f.assets.connect(f.provider).registerAsset(ALGO, 10, h('meta algo'), 'ipfs://algo', [], [], []);
  await f.assets.connect(f.provider2).registerAsset(OTHER, 10, h('meta other'), 'ipfs://other', [], [], []);
  return f;
}

describe('ComputePolicies', function () {
  describe('setAlgorithmApproval', function () {
    it('approves and rejects an algorithm for the asset, with events', async function () {
      const { compute, provider } = await loadFixture(computeFixture);
      expect(await compute.isApproved(DATA, ALGO)).to.equal(false);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, ALGO, true))
        .to.emit(compute, 'AlgorithmApproved').withArgs(DATA, ALGO, provider.address);
      expect(await compute.isApproved(DATA, ALGO)).to.equal(true);
      expect(await compute.isApproved(ALGO, DATA)).to.equal(false);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, OTHER, true))
        .to.emit(compute, 'AlgorithmApproved').withArgs(DATA, OTHER, provider.address);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, ALGO, false))
        .to.emit(compute, 'AlgorithmRejected').withArgs(DATA, ALGO, provider.address);
      expect(await compute.isApproved(DATA, ALGO)).to.equal(false);
      expect(await compute.isApproved(DATA, OTHER)).to.equal(true);
    });

    it('refuses an unchanged state and the asset as its own algorithm', async function () {
      const { compute, provider } = await loadFixture(computeFixture);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, ALGO, false))
        .to.be.revertedWithCustomError(compute, 'ComputeApprovalUnchanged').withArgs(DATA, ALGO, false);
      await compute.connect(provider).setAlgorithmApproval(DATA, ALGO, true);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, ALGO, true))
        .to.be.revertedWithCustomError(compute, 'ComputeApprovalUnchanged').withArgs(DATA, ALGO, true);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, DATA, true))
        .to.be.revertedWithCustomError(compute, 'ComputeAlgorithmIsAsset').withArgs(DATA);
    });

    it('refuses non-providers, other providers, unknown assets and unknown algorithms', async function () {
      const { compute, participants, provider, provider2, consumer, outsider } = await loadFixture(computeFixture);
      await expect(compute.connect(consumer).setAlgorithmApproval(DATA, ALGO, true))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(consumer.address, ROLE_PROVIDER);
      await expect(compute.connect(outsider).setAlgorithmApproval(DATA, ALGO, true))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown').withArgs(outsider.address);
      await expect(compute.connect(provider2).setAlgorithmApproval(DATA, ALGO, true))
        .to.be.revertedWithCustomError(compute, 'ComputeNotProvider').withArgs(DATA, provider2.address);
      await expect(compute.connect(provider).setAlgorithmApproval(UNKNOWN, ALGO, true))
        .to.be.revertedWithCustomError(compute, 'ComputeAssetUnknown').withArgs(UNKNOWN);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, UNKNOWN, true))
        .to.be.revertedWithCustomError(compute, 'ComputeAlgorithmUnknown').withArgs(UNKNOWN);
      await participants.suspend(provider.address);
      await expect(compute.connect(provider).setAlgorithmApproval(DATA, ALGO, true))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive').withArgs(provider.address);
      expect(await compute.isApproved(DATA, ALGO)).to.equal(false);
    });
  });

  describe('setPrivacyBudget', function () {
    it('sets the budget (its provider only) and emits PrivacyBudgetSet', async function () {
      const { compute, provider, provider2, consumer, participants } = await loadFixture(computeFixture);
      expect(await compute.privacyBudget(DATA)).to.equal(0n);
      await expect(compute.connect(provider).setPrivacyBudget(DATA, 1_500_000))
        .to.emit(compute, 'PrivacyBudgetSet').withArgs(DATA, 1_500_000, provider.address);
      expect(await compute.privacyBudget(DATA)).to.equal(1_500_000n);
      await compute.connect(provider).setPrivacyBudget(DATA, 0);
      expect(await compute.privacyBudget(DATA)).to.equal(0n);
      await expect(compute.connect(provider2).setPrivacyBudget(DATA, 1))
        .to.be.revertedWithCustomError(compute, 'ComputeNotProvider').withArgs(DATA, provider2.address);
      await expect(compute.connect(consumer).setPrivacyBudget(DATA, 1))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole');
      await expect(compute.connect(provider).setPrivacyBudget(UNKNOWN, 1))
        .to.be.revertedWithCustomError(compute, 'ComputeAssetUnknown').withArgs(UNKNOWN);
      expect(await compute.privacyBudget(UNKNOWN)).to.equal(0n);
    });
  });
});
