'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const {
  ROLE_CONSUMER, Liveness, GrantStatus, GRANT_REQUEST_TYPES, jur, h, sha256,
  domainOf, signGrant, policy, request, onboardedFixture, policyFixture,
} = require('./helpers');

const OTHER = sha256('other asset');

/** policyFixture + one issued grant (request() defaults). */
async function grantFixture() {
  const f = await policyFixture();
  const req = request(f);
  const sig = await signGrant(f.grants, f.consumer, req);
  const grantId = await f.grants.connect(f.provider).issueGrant.staticCall(req, sig);
  await f.grants.connect(f.provider).issueGrant(req, sig);
  return { ...f, req, sig, grantId };
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

      const next = policy({ notBefore: 5, notAfter: 0, maxCount: 3, pricePerAccess: 42n, computeOnly: true, autoApprove: false, anyPurpose: false, epoch: 99 });
      await expect(grants.connect(provider).setPolicy(assetId, next, [], []))
        .to.emit(grants, 'PolicySet')
        .withArgs(assetId, 2, 5, 0, 3, 42n, true, false, [], []);
      p = await grants.getPolicy(assetId);
      expect(p.epoch).to.equal(2n); // assigned, not taken from the argument
      expect(p.anyPurpose).to.equal(true);
      expect(p.anyJurisdiction).to.equal(true);
      expect(p.computeOnly).to.equal(true);
      expect(p.pricePerAccess).to.equal(42n);
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
      expect(await grants.connect(provider).issueGrant.staticCall(req, sig)).to.equal(expectedId);

      await expect(grants.connect(provider).issueGrant(req, sig))
        .to.emit(grants, 'GrantIssued')
        .withArgs(
          expectedId, assetId, consumer.address, req.purpose, req.notBefore, req.notAfter,
          req.maxCount, req.pricePerAccess, req.nonce, req.deadline, sig,
        );
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
      await grants.connect(provider).setPolicy(assetId, policy({ pricePerAccess: 5n }), [], []);
      const req1 = request(f, { pricePerAccess: 5n, nonce: 1 });
      const req2 = request(f, { pricePerAccess: 5n, nonce: 2 });
      const id1 = await grants.hashGrantRequest(req1);
      const id2 = await grants.hashGrantRequest(req2);
      expect(id1).to.not.equal(id2);
      await grants.connect(provider).issueGrant(req1, await signGrant(grants, consumer, req1));
      await grants.connect(provider).issueGrant(req2, await signGrant(grants, consumer, req2));
      expect((await grants.getGrant(id1)).status).to.equal(GrantStatus.Active);
      expect((await grants.getGrant(id2)).status).to.equal(GrantStatus.Active);
      // the same terms at another price are not a grant
      const cheaper = { ...req1, pricePerAccess: 1n };
      await expect(grants.requireGrant(cheaper))
        .to.be.revertedWithCustomError(grants, 'GrantUnknown')
        .withArgs(await grants.hashGrantRequest(cheaper));
    });

    it('rejects a replay of the same signature (GrantAlreadyIssued)', async function () {
      const { grants, provider, req, sig, grantId } = await loadFixture(grantFixture);
      await expect(grants.connect(provider).issueGrant(req, sig))
        .to.be.revertedWithCustomError(grants, 'GrantAlreadyIssued')
        .withArgs(grantId);
    });

    it('rejects a signature by someone else, over other terms, or malformed (GrantInvalidSignature)', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, provider, consumer, consumerFR } = f;
      const req = request(f);
      const byOther = await signGrant(grants, consumerFR, req);
      await expect(grants.connect(provider).issueGrant(req, byOther))
        .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
        .withArgs(consumer.address);
      // consumer signed maxCount 10, provider submits 20
      const sig = await signGrant(grants, consumer, req);
      await expect(grants.connect(provider).issueGrant({ ...req, maxCount: 20 }, sig))
        .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
        .withArgs(consumer.address);
      // signed for another verifying contract (cross-contract replay)
      const foreign = await consumer.signTypedData(
        { ...(await domainOf(grants)), verifyingContract: await f.assets.getAddress() },
        GRANT_REQUEST_TYPES,
        req,
      );
      await expect(grants.connect(provider).issueGrant(req, foreign))
        .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
        .withArgs(consumer.address);
      for (const junk of ['0x', ethers.hexlify(ethers.randomBytes(64)), sig.slice(0, -2) + '00']) {
        await expect(grants.connect(provider).issueGrant(req, junk))
          .to.be.revertedWithCustomError(grants, 'GrantInvalidSignature')
          .withArgs(consumer.address);
      }
    });

    it('rejects a purpose outside the policy (GrantPurposeNotAllowed)', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { purpose: 'marketing' });
      await expect(f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumer, req)))
        .to.be.revertedWithCustomError(f.grants, 'GrantPurposeNotAllowed')
        .withArgs(f.assetId, 'marketing');
    });

    it('rejects a consumer from a jurisdiction outside the policy (GrantJurisdictionNotAllowed)', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { consumer: f.consumerFR.address });
      await expect(f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumerFR, req)))
        .to.be.revertedWithCustomError(f.grants, 'GrantJurisdictionNotAllowed')
        .withArgs(f.assetId, jur('FR'));
    });

    it('accepts any purpose and jurisdiction under an open policy', async function () {
      const f = await loadFixture(policyFixture);
      await f.grants.connect(f.provider).setPolicy(f.assetId, policy(), [], []);
      const req = request(f, { consumer: f.consumerFR.address, purpose: 'anything at all' });
      await expect(f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumerFR, req))).to.emit(
        f.grants,
        'GrantIssued',
      );
    });

    it('rejects a price different from the policy (GrantPriceMismatch)', async function () {
      const f = await loadFixture(policyFixture);
      await f.grants.connect(f.provider).setPolicy(f.assetId, policy({ pricePerAccess: 10n }), [], []);
      for (const offered of [0n, 9n, 11n]) {
        const req = request(f, { pricePerAccess: offered });
        await expect(f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumer, req)))
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
        await expect(f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumer, req)))
          .to.be.revertedWithCustomError(f.grants, 'GrantWindowInvalid')
          .withArgs(req.notBefore, req.notAfter);
      }
      // the exact policy window is fine
      const ok = request(f, { notBefore: pol.notBefore, notAfter: pol.notAfter });
      await expect(f.grants.connect(f.provider).issueGrant(ok, await signGrant(f.grants, f.consumer, ok))).to.emit(
        f.grants,
        'GrantIssued',
      );
    });

    it('rejects a count of 0 or above the policy cap (GrantCountInvalid)', async function () {
      const f = await loadFixture(policyFixture);
      for (const maxCount of [0, 101]) {
        const req = request(f, { maxCount });
        await expect(f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumer, req)))
          .to.be.revertedWithCustomError(f.grants, 'GrantCountInvalid')
          .withArgs(maxCount, 100);
      }
      const ok = request(f, { maxCount: 100 });
      await expect(f.grants.connect(f.provider).issueGrant(ok, await signGrant(f.grants, f.consumer, ok))).to.emit(
        f.grants,
        'GrantIssued',
      );
      // policy maxCount 0 = no cap, but a grant still needs a positive count
      await f.grants.connect(f.provider).setPolicy(f.assetId, policy({ maxCount: 0 }), [], []);
      const big = request(f, { maxCount: 2 ** 24 - 1 });
      await expect(f.grants.connect(f.provider).issueGrant(big, await signGrant(f.grants, f.consumer, big))).to.emit(
        f.grants,
        'GrantIssued',
      );
      const zero = request(f, { maxCount: 0 });
      await expect(f.grants.connect(f.provider).issueGrant(zero, await signGrant(f.grants, f.consumer, zero)))
        .to.be.revertedWithCustomError(f.grants, 'GrantCountInvalid')
        .withArgs(0, 0);
    });

    it('rejects a request past its deadline (GrantRequestExpired)', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { deadline: f.now + 60 });
      const sig = await signGrant(f.grants, f.consumer, req);
      await time.increaseTo(f.now + 61);
      await expect(f.grants.connect(f.provider).issueGrant(req, sig))
        .to.be.revertedWithCustomError(f.grants, 'GrantRequestExpired')
        .withArgs(f.now + 60);
    });

    it('rejects an asset without a policy (GrantPolicyMissing)', async function () {
      const f = await loadFixture(policyFixture);
      await f.assets.connect(f.provider).registerAsset(OTHER, 1, h('m'), '', [], [], []);
      const req = request(f, { assetId: OTHER });
      await expect(f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumer, req)))
        .to.be.revertedWithCustomError(f.grants, 'GrantPolicyMissing')
        .withArgs(OTHER);
    });

    it('rejects anyone but the asset provider (GrantNotProvider), even the consumer', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f);
      const sig = await signGrant(f.grants, f.consumer, req);
      for (const who of [f.provider2, f.consumer]) {
        await expect(f.grants.connect(who).issueGrant(req, sig))
          .to.be.revertedWithCustomError(f.grants, 'GrantNotProvider')
          .withArgs(f.assetId, who.address);
      }
    });

    it('rejects a suspended provider and an inactive asset', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f);
      const sig = await signGrant(f.grants, f.consumer, req);
      await f.participants.suspend(f.provider.address);
      await expect(f.grants.connect(f.provider).issueGrant(req, sig))
        .to.be.revertedWithCustomError(f.participants, 'ParticipantNotActive')
        .withArgs(f.provider.address);
      await f.participants.reinstate(f.provider.address);
      await f.assets.connect(f.provider).deactivate(f.assetId);
      await expect(f.grants.connect(f.provider).issueGrant(req, sig))
        .to.be.revertedWithCustomError(f.assets, 'AssetInactive')
        .withArgs(f.assetId);
    });

    it('rejects consumers that are unknown, suspended or lack the consumer role', async function () {
      const f = await loadFixture(policyFixture);
      const { grants, participants, provider, consumer, outsider, auditor } = f;
      await grants.connect(provider).setPolicy(f.assetId, policy(), [], []);
      let req = request(f, { consumer: outsider.address });
      await expect(grants.connect(provider).issueGrant(req, await signGrant(grants, outsider, req)))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
        .withArgs(outsider.address);
      req = request(f, { consumer: auditor.address });
      await expect(grants.connect(provider).issueGrant(req, await signGrant(grants, auditor, req)))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(auditor.address, ROLE_CONSUMER);
      await participants.suspend(consumer.address);
      req = request(f);
      await expect(grants.connect(provider).issueGrant(req, await signGrant(grants, consumer, req)))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(consumer.address);
    });
  });

  describe('liveness', function () {
    it('goes NotYetValid -> Live -> Expired with time', async function () {
      const f = await loadFixture(policyFixture);
      const req = request(f, { notBefore: f.now + 1000, notAfter: f.now + 2000 });
      const id = await f.grants.hashGrantRequest(req);
      await f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumer, req));
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
