'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const {
  ROLE_CONSUMER, Liveness, GrantStatus, PriceModel, GRANT_REQUEST_TYPES, GRANT_ACCEPTANCE_TYPES, jur, h, sha256,
  domainOf, signGrant, signAcceptance, signBoth, issue, policy, request, onboardedFixture, policyFixture,
} = require('./helpers');

const OTHER = sha256('other asset');

/** issueGrant from `sender` (default: the provider) with `signer`'s request signature and the provider's acceptance. */
async function issueTx(f, req, signer = f.consumer, sender = f.provider) {
  const { sig, acceptance } = await signBoth(f, req, { consumer: signer, provider: f.provider });
  return f.grants.connect(sender).issueGrant(req, sig, acceptance);
}

/** policyFixture + one issued grant (request() defaults). */
async function grantFixture() {
  const f = await policyFixture();
  const req = request(f);
  const { sig, acceptance } = await signBoth(f, req);
  const grantId = await f.grants.connect(f.provider).issueGrant.staticCall(req, sig, acceptance);
  await f.grants.connect(f.provider).issueGrant(req, sig, acceptance);
  return { ...f, req, sig, acceptance, grantId };
}

describe('UsageGrants', function () {
  describe('setPolicy', function () {
    it('stores the policy, bumps the epoch and emits PolicySet', async function () {
      const { grants, provider, assetId, pol } = await loadFixture(policyFixture);
      let p = await grants.getPolicy(assetId);
      expect(p.notBefore).to.equal(BigInt(pol.notBefore));
      expect(p.notAfter).to.equal(BigInt(pol.notAfter));
      expect(p.maxCount).to.equal(100n);
      expect(p.pricePerAccess).to.equal(0n);
      expect(p.computeOnly).to.equal(false);
      expect(p.autoApprove).to.equal(true);
      expect(p.anyPurpose).to.equal(false);
      expect(p.anyJurisdiction).to.equal(false);
      expect(p.epoch).to.equal(1n);
      expect(p.priceModel).to.equal(BigInt(PriceModel.Free));
      expect(p.freeUses).to.equal(0n);
      expect(p.period).to.equal(0n);

      const next = policy({
        notBefore: 5, notAfter: 0, maxCount: 3, pricePerAccess: 42n, computeOnly: true, autoApprove: false,
        anyPurpose: false, epoch: 99, priceModel: PriceModel.PayAfterUse, freeUses: 2,
      });
      const tx = grants.connect(provider).setPolicy(assetId, next, [], []);
      await expect(tx)
        .to.emit(grants, 'PolicySet')
        .withArgs(assetId, 2, 5, 0, 3, 42n, true, false, [], []);
      await expect(tx).to.emit(grants, 'PricingSet').withArgs(assetId, 2, PriceModel.PayAfterUse, 2, 0);
      p = await grants.getPolicy(assetId);
      expect(p.priceModel).to.equal(BigInt(PriceModel.PayAfterUse));
      expect(p.freeUses).to.equal(2n);
      expect(p.epoch).to.equal(2n); // assigned, not taken from the argument
      expect(p.anyPurpose).to.equal(true);
      expect(p.anyJurisdiction).to.equal(true);
      expect(p.computeOnly).to.equal(true);
      expect(p.pricePerAccess).to.equal(42n);

      // back to Free: the view shows the new epoch's terms, not the paid ones of epoch 2
      await grants.connect(provider).setPolicy(assetId, policy({ maxCount: 4 }), [], []);
      p = await grants.getPolicy(assetId);
      expect([p.epoch, p.priceModel, p.freeUses, p.period, p.pricePerAccess, p.maxCount])
        .to.deep.equal([3n, BigInt(PriceModel.Free), 0n, 0n, 0n, 4n]);
      expect((await grants.pricingOf(assetId, 2)).priceModel).to.equal(BigInt(PriceModel.PayAfterUse));
    });

    it('emits the purposes and jurisdictions, answers isPurposeAllowed / isJurisdictionAllowed', async function () {
      const { grants, provider, assetId } = await loadFixture(policyFixture);
      expect(await grants.isPurposeAllowed(assetId, 'research')).to.equal(true);
      expect(await grants.isPurposeAllowed(assetId, 'ml-training')).to.equal(true);
      expect(await grants.isPurposeAllowed(assetId, 'marketing')).to.equal(false);
      expect(await grants.isJurisdictionAllowed(assetId, jur('DE'))).to.equal(true);
      expect(await grants.isJurisdictionAllowed(assetId, jur('FR'))).to.equal(false);

      // a new policy replaces the old lists entirely (new epoch)
      await expect(grants.connect(provider).setPolicy(assetId, policy(), ['marketing'], [jur('FR')]))
        .to.emit(grants, 'PolicySet')
        .withArgs(assetId, 2, 0, 0, 0, 0, false, true, ['marketing'], [jur('FR')]);
      expect(await grants.isPurposeAllowed(assetId, 'research')).to.equal(false);
      expect(await grants.isPurposeAllowed(assetId, 'marketing')).to.equal(true);
      expect(await grants.isJurisdictionAllowed(assetId, jur('DE'))).to.equal(false);
      expect(await grants.isJurisdictionAllowed(assetId, jur('FR'))).to.equal(true);
    });

    it('answers false for an asset without a policy', async function () {
      const { grants } = await loadFixture(policyFixture);
      expect(await grants.isPurposeAllowed(OTHER, 'research')).to.equal(false);
      expect(await grants.isJurisdictionAllowed(OTHER, jur('DE'))).to.equal(false);
      expect((await grants.getPolicy(OTHER)).epoch).to.equal(0n);
    });

    it('rejects anyone but the asset provider (GrantNotProvider)', async function () {
      const { grants, provider2, consumer, assetId } = await loadFixture(policyFixture);
      for (const who of [provider2, consumer]) {
        await expect(grants.connect(who).setPolicy(assetId, policy(), [], []))
          .to.be.revertedWithCustomError(grants, 'GrantNotProvider')
          .withArgs(assetId, who.address);
      }
    });

    it('rejects unknown and inactive assets', async function () {
      const { grants, assets, provider, assetId } = await loadFixture(policyFixture);
      await expect(grants.connect(provider).setPolicy(OTHER, policy(), [], []))
        .to.be.revertedWithCustomError(assets, 'AssetUnknown')
        .withArgs(OTHER);
      await assets.connect(provider).deactivate(assetId);
      await expect(grants.connect(provider).setPolicy(assetId, policy(), [], []))
        .to.be.revertedWithCustomError(assets, 'AssetInactive')
        .withArgs(assetId);
    });

    it('rejects a suspended provider', async function () {
      const { grants, participants, provider, assetId } = await loadFixture(policyFixture);
      await participants.suspend(provider.address);
      await expect(grants.connect(provider).setPolicy(assetId, policy(), [], []))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(provider.address);
    });

    it('rejects an empty window (GrantWindowInvalid)', async function () {
      const { grants, provider, assetId } = await loadFixture(policyFixture);
      for (const [nb, na] of [[100, 100], [100, 50]]) {
        await expect(grants.connect(provider).setPolicy(assetId, policy({ notBefore: nb, notAfter: na }), [], []))
          .to.be.revertedWithCustomError(grants, 'GrantWindowInvalid')
          .withArgs(nb, na);
      }
    });

    it('rejects more than 255 purposes or jurisdictions (GrantPolicyInvalid)', async function () {
      const { grants, provider, assetId } = await loadFixture(policyFixture);
      const purposes = Array.from({ length: 256 }, (_, i) => `p${i}`);
      await expect(grants.connect(provider).setPolicy(assetId, policy(), purposes, []))
        .to.be.revertedWithCustomError(grants, 'GrantPolicyInvalid')
        .withArgs(assetId);
      const jurisdictions = Array.from({ length: 256 }, () => jur('DE'));
      await expect(grants.connect(provider).setPolicy(assetId, policy(), [], jurisdictions))
        .to.be.revertedWithCustomError(grants, 'GrantPolicyInvalid')
        .withArgs(assetId);
    });
  });

  describe('issueGrant', function () {
    it('issues a grant whose id is the EIP-712 digest (hashGrantRequest == TypedDataEncoder.hash)', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, provider, consumer, assetId } = f;
      const req = request(f);
      const sig = await signGrant(grants, consumer, req);
      const expectedId = ethers.TypedDataEncoder.hash(await domainOf(grants), GRANT_REQUEST_TYPES, req);
      expect(await grants.hashGrantRequest(req)).to.equal(expectedId);
      expect(ethers.verifyTypedData(await domainOf(grants), GRANT_REQUEST_TYPES, req, sig)).to.equal(consumer.address);
      expect(await grants.GRANT_REQUEST_TYPEHASH()).to.equal(
        ethers.id(ethers.TypedDataEncoder.from(GRANT_REQUEST_TYPES).encodeType('GrantRequest')),
      );
      const acceptance = await signAcceptance(grants, provider, expectedId);
      expect(await grants.connect(provider).issueGrant.staticCall(req, sig, acceptance)).to.equal(expectedId);

      const tx = grants.connect(provider).issueGrant(req, sig, acceptance);
      await expect(tx)
        .to.emit(grants, 'GrantIssued')
        .withArgs(
          expectedId, assetId, consumer.address, req.purpose, req.notBefore, req.notAfter,
          req.maxCount, req.pricePerAccess, req.nonce, req.deadline, 1, sig,
        );
      await expect(tx).to.emit(grants, 'GrantAccepted').withArgs(expectedId, provider.address, 1, acceptance);
      const g = await grants.getGrant(expectedId);
      expect(g.consumer).to.equal(consumer.address);
      expect(g.notBefore).to.equal(BigInt(req.notBefore));
      expect(g.notAfter).to.equal(BigInt(req.notAfter));
      expect(g.maxCount).to.equal(BigInt(req.maxCount));
      expect(g.status).to.equal(GrantStatus.Active);
      const [rid, rg] = await grants.requireGrant(req);
      expect(rid).to.equal(expectedId);
      expect(rg.consumer).to.equal(consumer.address);
      expect(rg.status).to.equal(GrantStatus.Active);
      expect(await grants.liveness(expectedId)).to.equal(Liveness.Live);
    });

    it('exposes the EIP-712 domain (name "TDS UsageGrants", version "1")', async function () {
      const { grants } = await loadFixture(policyFixture);
      const d = await grants.eip712Domain();
      expect(d.name).to.equal('TDS UsageGrants');
      expect(d.version).to.equal('1');
      expect(d.chainId).to.equal((await ethers.provider.getNetwork()).chainId);
      expect(d.verifyingContract).to.equal(await grants.getAddress());
    });

    it('commits to the price in the id; another nonce yields another grant', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, provider, consumer, assetId } = f;
      await grants.connect(provider).setPolicy(assetId, policy({ pricePerAccess: 5n, priceModel: PriceModel.PayAfterUse }), [], []);
      const req1 = request(f, { pricePerAccess: 5n, nonce: 1, policyEpoch: 2 });
      const req2 = request(f, { pricePerAccess: 5n, nonce: 2, policyEpoch: 2 });
      const id1 = await grants.hashGrantRequest(req1);
      const id2 = await grants.hashGrantRequest(req2);
      expect(id1).to.not.equal(id2);
      await issueTx(f, req1, f.consumer);
      await issueTx(f, req2, f.consumer);
      expect((await grants.getGrant(id1)).status).to.equal(GrantStatus.Active);
      expect((await grants.getGrant(id2)).status).to.equal(GrantStatus.Active);
      // the same terms at another price are not a grant
      const cheaper = { ...req1, pricePerAccess: 1n };
      await expect(grants.requireGrant(cheaper))
        .to.be.revertedWithCustomError(grants, 'GrantUnknown')
        .withArgs(await grants.hashGrantRequest(cheaper));
    });

    it('rejects a replay of the same signature (GrantAlreadyIssued)', async function () {
      const { grants, provider, req, sig, acceptance, grantId } = await loadFixture(grantFixture);
      await expect(grants.connect(provider).issueGrant(req, sig, acceptance))
        .to.be.revertedWithCustomError(grants, 'GrantAlreadyIssued')
        .withArgs(grantId);
    });

    it('rejects a signature by someone else, over other terms, or malformed (GrantInvalidSignature)', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, provider, consumer, consumerFR } = f;
      const req = request(f);
      const { acceptance } = await signBoth(f, req); // valid; the consumer's signature is checked first
      const byOther = await signGrant(grants, consumerFR, req);
      await expect(grants.connect(provider).issueGrant(req, byOther, acceptance))
        .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
        .withArgs(consumer.address);
      // consumer signed maxCount 10, provider submits 20
      const sig = await signGrant(grants, consumer, req);
      await expect(grants.connect(provider).issueGrant({ ...req, maxCount: 20 }, sig, acceptance))
        .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
        .withArgs(consumer.address);
      // signed for another verifying contract (cross-contract replay)
      const foreign = await consumer.signTypedData(
        { ...(await domainOf(grants)), verifyingContract: await f.assets.getAddress() },
        GRANT_REQUEST_TYPES,
        req,
      );
      await expect(grants.connect(provider).issueGrant(req, foreign, acceptance))
        .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
        .withArgs(consumer.address);
      for (const junk of ['0x', ethers.hexlify(ethers.randomBytes(64)), sig.slice(0, -2) + '00']) {
        await expect(grants.connect(provider).issueGrant(req, junk, acceptance))
          .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
          .withArgs(consumer.address);
      }
    });

    it('rejects a purpose outside the policy (GrantPurposeNotAllowed)', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { purpose: 'marketing' });
      await expect(issueTx(f, req, f.consumer))
        .to.be.revertedWithCustomError(f.grants, 'GrantPurposeNotAllowed')
        .withArgs(f.assetId, 'marketing');
    });

    it('rejects a consumer from a jurisdiction outside the policy (GrantJurisdictionNotAllowed)', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { consumer: f.consumerFR.address });
      await expect(issueTx(f, req, f.consumerFR))
        .to.be.revertedWithCustomError(f.grants, 'GrantJurisdictionNotAllowed')
        .withArgs(f.assetId, jur('FR'));
    });

    it('accepts any purpose and jurisdiction under an open policy', async function () {
      const f = await loadFixture(policyFixture);
      await f.grants.connect(f.provider).setPolicy(f.assetId, policy(), [], []);
      const req = request(f, { consumer: f.consumerFR.address, purpose: 'anything at all', policyEpoch: 2 });
      await expect(issueTx(f, req, f.consumerFR)).to.emit(
        f.grants,
        'GrantIssued',
      );
    });

    it('rejects a price different from the policy (GrantPriceMismatch)', async function () {
      const f = await loadFixture(policyFixture);
      const pol = policy({ pricePerAccess: 10n, priceModel: PriceModel.PayAfterUse });
      await f.grants.connect(f.provider).setPolicy(f.assetId, pol, [], []);
      for (const offered of [0n, 9n, 11n]) {
        const req = request(f, { pricePerAccess: offered, policyEpoch: 2 });
        await expect(issueTx(f, req, f.consumer))
          .to.be.revertedWithCustomError(f.grants, 'GrantPriceMismatch')
          .withArgs(offered, 10n);
      }
    });

    it('rejects windows outside the policy or empty/past windows (GrantWindowInvalid)', async function () {
      const f = await loadFixture(policyFixture);
      const { pol, now } = f;
      const cases = [
        { notBefore: pol.notBefore - 1 }, // starts before the policy
        { notAfter: pol.notAfter + 1 }, // ends after the policy
        { notBefore: now + 100, notAfter: now + 100 }, // empty
        { notBefore: now + 100, notAfter: now + 50 }, // inverted
        { notBefore: pol.notBefore, notAfter: now - 1 }, // already over
      ];
      for (const c of cases) {
        const req = request(f, c);
        await expect(issueTx(f, req, f.consumer))
          .to.be.revertedWithCustomError(f.grants, 'GrantWindowInvalid')
          .withArgs(req.notBefore, req.notAfter);
      }
      // the exact policy window is fine
      const ok = request(f, { notBefore: pol.notBefore, notAfter: pol.notAfter });
      await expect(issueTx(f, ok, f.consumer)).to.emit(
        f.grants,
        'GrantIssued',
      );
    });

    it('rejects a count of 0 or above the policy cap (GrantCountInvalid)', async function () {
      const f = await loadFixture(policyFixture);
      for (const maxCount of [0, 101]) {
        const req = request(f, { maxCount });
        await expect(issueTx(f, req, f.consumer))
          .to.be.revertedWithCustomError(f.grants, 'GrantCountInvalid')
          .withArgs(maxCount, 100);
      }
      const ok = request(f, { maxCount: 100 });
      await expect(issueTx(f, ok, f.consumer)).to.emit(
        f.grants,
        'GrantIssued',
      );
      // policy maxCount 0 = no cap, but a grant still needs a positive count
      await f.grants.connect(f.provider).setPolicy(f.assetId, policy({ maxCount: 0 }), [], []);
      const big = request(f, { maxCount: 2 ** 24 - 1, policyEpoch: 2 });
      await expect(issueTx(f, big, f.consumer)).to.emit(
        f.grants,
        'GrantIssued',
      );
      const zero = request(f, { maxCount: 0, policyEpoch: 2 });
      await expect(issueTx(f, zero, f.consumer))
        .to.be.revertedWithCustomError(f.grants, 'GrantCountInvalid')
        .withArgs(0, 0);
    });

    it('rejects a request past its deadline (GrantRequestExpired)', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { deadline: f.now + 60 });
      const { sig, acceptance } = await signBoth(f, req);
      await time.increaseTo(f.now + 61);
      await expect(f.grants.connect(f.provider).issueGrant(req, sig, acceptance))
        .to.be.revertedWithCustomError(f.grants, 'GrantRequestExpired')
        .withArgs(f.now + 60);
    });

    it('rejects an asset without a policy (GrantPolicyMissing)', async function () {
      const f = await loadFixture(policyFixture);
      await f.assets.connect(f.provider).registerAsset(OTHER, 1, h('m'), '', [], [], []);
      const req = request(f, { assetId: OTHER });
      await expect(issueTx(f, req, f.consumer))
        .to.be.revertedWithCustomError(f.grants, 'GrantPolicyMissing')
        .withArgs(OTHER);
    });

    it('rejects anyone but the asset provider (GrantNotProvider), even the consumer', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f);
      const { sig, acceptance } = await signBoth(f, req);
      for (const who of [f.provider2, f.consumer]) {
        await expect(f.grants.connect(who).issueGrant(req, sig, acceptance))
          .to.be.revertedWithCustomError(f.grants, 'GrantNotProvider')
          .withArgs(f.assetId, who.address);
      }
    });

    it('rejects a suspended provider and an inactive asset', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f);
      const { sig, acceptance } = await signBoth(f, req);
      await f.participants.suspend(f.provider.address);
      await expect(f.grants.connect(f.provider).issueGrant(req, sig, acceptance))
        .to.be.revertedWithCustomError(f.participants, 'ParticipantNotActive')
        .withArgs(f.provider.address);
      await f.participants.reinstate(f.provider.address);
      await f.assets.connect(f.provider).deactivate(f.assetId);
      await expect(f.grants.connect(f.provider).issueGrant(req, sig, acceptance))
        .to.be.revertedWithCustomError(f.assets, 'AssetInactive')
        .withArgs(f.assetId);
    });

    it('rejects consumers that are unknown, suspended or lack the consumer role', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, participants, provider, consumer, outsider, auditor } = f;
      await grants.connect(provider).setPolicy(f.assetId, policy(), [], []);
      let req = request(f, { consumer: outsider.address, policyEpoch: 2 });
      await expect(issueTx(f, req, f.outsider))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
        .withArgs(outsider.address);
      req = request(f, { consumer: auditor.address, policyEpoch: 2 });
      await expect(issueTx(f, req, f.auditor))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(auditor.address, ROLE_CONSUMER);
      await participants.suspend(consumer.address);
      req = request(f, { policyEpoch: 2 });
      await expect(issueTx(f, req, f.consumer))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(consumer.address);
    });
  });

  describe('pricing (price models, free trial, subscription period)', function () {
    const DAY = 86400;

    it('rejects money terms that do not fit together (GrantPricingInvalid) and keeps the old policy', async function () {
      const { grants, provider, assetId } = await loadFixture(policyFixture);
      const bad = [
        ['Free with a price', { priceModel: PriceModel.Free, pricePerAccess: 5n }],
        ['Prepaid without a price', { priceModel: PriceModel.Prepaid, pricePerAccess: 0n }],
        ['PayAfterUse without a price', { priceModel: PriceModel.PayAfterUse, pricePerAccess: 0n }],
        ['Subscription without a price', { priceModel: PriceModel.Subscription, pricePerAccess: 0n, period: DAY }],
        ['Subscription without a period', { priceModel: PriceModel.Subscription, pricePerAccess: 5n, period: 0 }],
        ['a period on Free', { priceModel: PriceModel.Free, period: DAY }],
        ['a period on Prepaid', { priceModel: PriceModel.Prepaid, pricePerAccess: 5n, period: DAY }],
        ['a period on PayAfterUse', { priceModel: PriceModel.PayAfterUse, pricePerAccess: 5n, period: DAY }],
        ['a free trial on Free', { priceModel: PriceModel.Free, freeUses: 1 }],
        ['a free trial on Subscription', { priceModel: PriceModel.Subscription, pricePerAccess: 5n, period: DAY, freeUses: 1 }],
      ];
      for (const [label, terms] of bad) {
        await expect(grants.connect(provider).setPolicy(assetId, policy(terms), [], []), label)
          .to.be.revertedWithCustomError(grants, 'GrantPricingInvalid')
          .withArgs(assetId);
      }
      const p = await grants.getPolicy(assetId);
      expect(p.epoch).to.equal(1n);
      expect(p.priceModel).to.equal(BigInt(PriceModel.Free));
    });

    it('emits PricingSet after PolicySet and records the terms per epoch (pricingOf)', async function () {
      const { grants, provider, assetId } = await loadFixture(policyFixture);
      // epoch 1 is the fixture's Free policy: nothing recorded
      let pr = await grants.pricingOf(assetId, 1);
      expect([pr.priceModel, pr.freeUses, pr.period, pr.price]).to.deep.equal([0n, 0n, 0n, 0n]);
      const good = [
        [{ priceModel: PriceModel.Prepaid, pricePerAccess: 7n, freeUses: 3 }, [1n, 3n, 0n, 7n]],
        [{ priceModel: PriceModel.PayAfterUse, pricePerAccess: 9n, freeUses: 0 }, [2n, 0n, 0n, 9n]],
        [{ priceModel: PriceModel.Subscription, pricePerAccess: 100n, period: DAY }, [3n, 0n, BigInt(DAY), 100n]],
        [{ priceModel: PriceModel.Free }, [0n, 0n, 0n, 0n]],
      ];
      let epoch = 1;
      for (const [terms, expected] of good) {
        epoch += 1;
        const tx = grants.connect(provider).setPolicy(assetId, policy(terms), [], []);
        await expect(tx).to.emit(grants, 'PolicySet');
        await expect(tx)
          .to.emit(grants, 'PricingSet')
          .withArgs(assetId, epoch, terms.priceModel, terms.freeUses || 0, terms.period || 0);
        pr = await grants.pricingOf(assetId, epoch);
        expect([pr.priceModel, pr.freeUses, pr.period, pr.price]).to.deep.equal(expected);
      }
      // the logs are ordered PolicySet, PricingSet
      const receipt = await (await grants.connect(provider).setPolicy(assetId, policy(), [], [])).wait();
      const names = receipt.logs.map((l) => grants.interface.parseLog(l).name);
      expect(names).to.deep.equal(['PolicySet', 'PricingSet']);
      // earlier epochs keep their terms (a grant agreed under epoch 2 stays Prepaid at 7)
      pr = await grants.pricingOf(assetId, 2);
      expect([pr.priceModel, pr.freeUses, pr.period, pr.price]).to.deep.equal([1n, 3n, 0n, 7n]);
    });

    it('rejects a paid policy while no Settlement is bound (GrantSettlementUnbound); Free is fine', async function () {
      const f = await loadFixture(policyFixture);
      const fresh = await ethers.deployContract('UsageGrants', [
        await f.participants.getAddress(),
        await f.assets.getAddress(),
      ]);
      expect(await fresh.settlement()).to.equal(ethers.ZeroAddress);
      for (const terms of [
        { priceModel: PriceModel.Prepaid, pricePerAccess: 5n },
        { priceModel: PriceModel.PayAfterUse, pricePerAccess: 5n },
        { priceModel: PriceModel.Subscription, pricePerAccess: 5n, period: DAY },
      ]) {
        await expect(fresh.connect(f.provider).setPolicy(f.assetId, policy(terms), [], []))
          .to.be.revertedWithCustomError(fresh, 'GrantSettlementUnbound');
      }
      await expect(fresh.connect(f.provider).setPolicy(f.assetId, policy(), [], [])).to.emit(fresh, 'PricingSet');
    });

    it('opens no Settlement account for a Free grant', async function () {
      const { settlement, grantId } = await loadFixture(grantFixture);
      expect((await settlement.accountOf(grantId)).consumer).to.equal(ethers.ZeroAddress);
    });
  });

  describe('policy epoch and the provider acceptance', function () {
    it('rejects a request signed for another policy epoch (GrantPolicyChanged)', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, provider, assetId } = f;
      // the provider turns the free policy into a paid one after the consumer signed epoch 1
      await grants.connect(provider).setPolicy(assetId, policy({ priceModel: PriceModel.PayAfterUse, pricePerAccess: 5n }), [], []);
      for (const stale of [1, 3]) {
        const req = request(f, { pricePerAccess: 5n, policyEpoch: stale });
        await expect(issueTx(f, req))
          .to.be.revertedWithCustomError(grants, 'GrantPolicyChanged')
          .withArgs(stale, 2);
      }
      await expect(issueTx(f, request(f, { pricePerAccess: 5n, policyEpoch: 2 }))).to.emit(grants, 'GrantAccepted');
    });

    it('hashAcceptance is the EIP-712 GrantAcceptance digest', async function () {
      const { grants, provider, grantId } = await loadFixture(grantFixture);
      const value = { grantId, provider: provider.address };
      expect(await grants.hashAcceptance(grantId, provider.address)).to.equal(
        ethers.TypedDataEncoder.hash(await domainOf(grants), GRANT_ACCEPTANCE_TYPES, value),
      );
      expect(await grants.GRANT_ACCEPTANCE_TYPEHASH()).to.equal(
        ethers.id(ethers.TypedDataEncoder.from(GRANT_ACCEPTANCE_TYPES).encodeType('GrantAcceptance')),
      );
      const acc = await signAcceptance(grants, provider, grantId);
      expect(ethers.verifyTypedData(await domainOf(grants), GRANT_ACCEPTANCE_TYPES, value, acc)).to.equal(provider.address);
    });

    it('rejects an acceptance by someone else, over another grant or malformed (GrantInvalidAcceptance)', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, provider, provider2, consumer } = f;
      const req = request(f);
      const { grantId, sig } = await signBoth(f, req);
      const otherId = await grants.hashGrantRequest({ ...req, nonce: 2 });
      const domain = await domainOf(grants);
      const wrong = {
        'signed by another provider': await signAcceptance(grants, provider2, grantId),
        'signed by the consumer': await signAcceptance(grants, consumer, grantId),
        'over another grant': await signAcceptance(grants, provider, otherId),
        'naming another provider': await provider.signTypedData(domain, GRANT_ACCEPTANCE_TYPES, { grantId, provider: provider2.address }),
        'in another domain': await provider.signTypedData(
          { ...domain, name: 'TDS Settlement' }, GRANT_ACCEPTANCE_TYPES, { grantId, provider: provider.address },
        ),
        'the consumer request signature': sig,
        empty: '0x',
      };
      for (const [label, acceptance] of Object.entries(wrong)) {
        await expect(grants.connect(provider).issueGrant(req, sig, acceptance), label)
          .to.be.revertedWithCustomError(grants, 'GrantInvalidAcceptance')
          .withArgs(provider.address);
      }
      expect((await grants.getGrant(grantId)).status).to.equal(GrantStatus.None);
    });

    it('emits GrantAccepted (grant, provider, epoch, signature) after GrantIssued', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, provider } = f;
      const { grantId, acceptance, receipt } = await issue(f, request(f));
      const logs = receipt.logs.map((l) => grants.interface.parseLog(l));
      expect(logs.map((l) => l.name)).to.deep.equal(['GrantIssued', 'GrantAccepted']);
      expect(logs[0].args.policyEpoch).to.equal(1n);
      expect([...logs[1].args]).to.deep.equal([grantId, provider.address, 1n, acceptance]);
    });
  });

  describe('bindSettlement', function () {
    it('is bound by the fixture; a second bind fails (GrantBindUnauthorized)', async function () {
      const { grants, settlement, admin } = await loadFixture(onboardedFixture);
      expect(await grants.settlement()).to.equal(await settlement.getAddress());
      await expect(grants.connect(admin).bindSettlement(admin.address))
        .to.be.revertedWithCustomError(grants, 'GrantBindUnauthorized')
        .withArgs(admin.address);
    });

    it('binds once, by an operator only, never to zero; emits SettlementBound', async function () {
      const { participants, assets, settlement, admin, provider, outsider } = await loadFixture(onboardedFixture);
      const fresh = await ethers.deployContract('UsageGrants', [await participants.getAddress(), await assets.getAddress()]);
      const sAddr = await settlement.getAddress();
      for (const who of [outsider, provider]) {
        await expect(fresh.connect(who).bindSettlement(sAddr))
          .to.be.revertedWithCustomError(fresh, 'GrantBindUnauthorized')
          .withArgs(who.address);
      }
      await expect(fresh.connect(admin).bindSettlement(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(fresh, 'GrantBindUnauthorized')
        .withArgs(admin.address);
      await expect(fresh.connect(admin).bindSettlement(sAddr)).to.emit(fresh, 'SettlementBound').withArgs(sAddr);
      expect(await fresh.settlement()).to.equal(sAddr);
      await expect(fresh.connect(admin).bindSettlement(sAddr))
        .to.be.revertedWithCustomError(fresh, 'GrantBindUnauthorized')
        .withArgs(admin.address);
    });
  });

  describe('liveness', function () {
    it('goes NotYetValid -> Live -> Expired with time', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { notBefore: f.now + 1000, notAfter: f.now + 2000 });
      const id = await f.grants.hashGrantRequest(req);
      await issueTx(f, req, f.consumer);
      expect(await f.grants.liveness(id)).to.equal(Liveness.NotYetValid);
      await time.increaseTo(f.now + 999);
      expect(await f.grants.liveness(id)).to.equal(Liveness.NotYetValid);
      await time.increaseTo(f.now + 1000);
      expect(await f.grants.liveness(id)).to.equal(Liveness.Live);
      await time.increaseTo(f.now + 1999);
      expect(await f.grants.liveness(id)).to.equal(Liveness.Live);
      await time.increaseTo(f.now + 2000);
      expect(await f.grants.liveness(id)).to.equal(Liveness.Expired);
    });

    it('is Unknown for an unknown id and Revoked after revocation', async function () {
      const { grants, provider, req, grantId } = await loadFixture(grantFixture);
      expect(await grants.liveness(ethers.ZeroHash)).to.equal(Liveness.Unknown);
      expect(await grants.liveness(grantId)).to.equal(Liveness.Live);
      await grants.connect(provider).revokeGrant(req);
      expect(await grants.liveness(grantId)).to.equal(Liveness.Revoked);
    });
  });

  describe('revokeGrant', function () {
    it('revokes with GrantRevoked and returns the id; a second revocation fails (GrantAlreadyRevoked)', async function () {
      const { grants, provider, req, grantId, assetId } = await loadFixture(grantFixture);
      expect(await grants.connect(provider).revokeGrant.staticCall(req)).to.equal(grantId);
      await expect(grants.connect(provider).revokeGrant(req))
        .to.emit(grants, 'GrantRevoked')
        .withArgs(grantId, assetId, provider.address);
      expect((await grants.getGrant(grantId)).status).to.equal(GrantStatus.Revoked);
      const [, g] = await grants.requireGrant(req); // a revoked grant still exists
      expect(g.status).to.equal(GrantStatus.Revoked);
      await expect(grants.connect(provider).revokeGrant(req))
        .to.be.revertedWithCustomError(grants, 'GrantAlreadyRevoked')
        .withArgs(grantId);
    });

    it('rejects anyone but the asset provider (GrantNotProvider), including the consumer and the operator', async function () {
      const { grants, admin, provider2, consumer, req, assetId } = await loadFixture(grantFixture);
      for (const who of [provider2, consumer, admin]) {
        await expect(grants.connect(who).revokeGrant(req))
          .to.be.revertedWithCustomError(grants, 'GrantNotProvider')
          .withArgs(assetId, who.address);
      }
    });

    it('rejects a request that was never issued (GrantUnknown), e.g. one pointing at another asset', async function () {
      const f = await loadFixture(grantFixture);
      const { grants, assets, provider2, req } = f;
      // provider2 owns OTHER and claims the grant belongs to it: the id changes, so the grant is unknown
      await assets.connect(provider2).registerAsset(OTHER, 1, h('m'), '', [], [], []);
      const forged = { ...req, assetId: OTHER };
      await expect(grants.connect(provider2).revokeGrant(forged))
        .to.be.revertedWithCustomError(grants, 'GrantUnknown')
        .withArgs(await grants.hashGrantRequest(forged));
      const other = { ...req, nonce: 2 };
      await expect(grants.connect(f.provider).revokeGrant(other))
        .to.be.revertedWithCustomError(grants, 'GrantUnknown')
        .withArgs(await grants.hashGrantRequest(other));
    });

    it('still lets the provider revoke after the asset was deactivated', async function () {
      const { grants, assets, provider, req, assetId } = await loadFixture(grantFixture);
      await assets.connect(provider).deactivate(assetId);
      await expect(grants.connect(provider).revokeGrant(req)).to.emit(grants, 'GrantRevoked');
    });
  });

  describe('requireGrant', function () {
    it('returns the id and state of an issued grant', async function () {
      const { grants, consumer, req, grantId } = await loadFixture(grantFixture);
      const [id, g] = await grants.requireGrant(req);
      expect(id).to.equal(grantId);
      expect(g.consumer).to.equal(consumer.address);
      expect(g.notBefore).to.equal(BigInt(req.notBefore));
      expect(g.notAfter).to.equal(BigInt(req.notAfter));
      expect(g.maxCount).to.equal(BigInt(req.maxCount));
      expect(g.status).to.equal(GrantStatus.Active);
    });

    it('rejects a request with any term changed (GrantUnknown)', async function () {
      const { grants, req } = await loadFixture(grantFixture);
      for (const change of [{ purpose: 'ml-training' }, { maxCount: 11 }, { deadline: req.deadline + 1 }, { nonce: 7 }]) {
        const r = { ...req, ...change };
        await expect(grants.requireGrant(r))
          .to.be.revertedWithCustomError(grants, 'GrantUnknown')
          .withArgs(await grants.hashGrantRequest(r));
      }
    });
  });
});
