'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const {
  CLAIM_WINDOW, Subject, DisputeStatus, Verdict, SOLO, h, paidRequest, request, issue, policy,
  anchorReceipts, split, claim, economyFixture,
} = require('./helpers');

const EVIDENCE = h('evidence: receipts 4-7 were never served');
const URI = 'ipfs://bafy-evidence';

/** economyFixture + a Prepaid grant on SOLO (maxCount 10: 70 locked). */
async function disputeFixture() {
  const f = await economyFixture();
  const { grantId, req } = await issue(f, paidRequest(f, SOLO));
  return { ...f, grantId, req };
}

/** disputeFixture + 3 units settled for [now, now + 1 h] (lock 49, provider earnings 21) + an open dispute (id 1). */
async function openDisputeFixture() {
  const f = await disputeFixture();
  await time.increase(3600);
  const end = await time.latest();
  const root = await anchorReceipts(f, 'd', 3);
  await f.settlement.connect(f.provider).settle(f.now, end, root, [claim(f.grantId, 3)], [split(SOLO)]);
  await f.disputes.connect(f.consumer).open(f.req, Subject.Settlement, end, EVIDENCE, URI);
  return { ...f, settledEnd: end };
}

function openTx(f, who, { subject = Subject.Grant, periodEnd = 0, evidence = EVIDENCE, req } = {}) {
  return f.disputes.connect(who).open(req || f.req, subject, periodEnd, evidence, URI);
}

describe('Disputes', function () {
  describe('open', function () {
    it('opens on the consumer\'s word with ERC-1497 events and freezes the account', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, settlement, consumer, provider, grantId } = f;
      expect(await disputes.openDisputeOf(grantId)).to.equal(0n);
      expect(await disputes.connect(consumer).open.staticCall(f.req, Subject.Grant, 0, EVIDENCE, URI)).to.equal(1n);
      const tx = openTx(f, consumer, { periodEnd: 12345 }); // periodEnd is ignored for Subject.Grant
      await expect(tx).to.emit(disputes, 'Dispute').withArgs(ethers.ZeroAddress, 1, BigInt(grantId), 1);
      await expect(tx).to.emit(disputes, 'DisputeOpened').withArgs(1, grantId, consumer.address, Subject.Grant, 0, EVIDENCE);
      await expect(tx).to.emit(disputes, 'Evidence').withArgs(ethers.ZeroAddress, 1, consumer.address, URI);
      await expect(tx).to.emit(disputes, 'EvidenceSubmitted').withArgs(1, consumer.address, EVIDENCE);
      await expect(tx).to.emit(settlement, 'AccountFrozen').withArgs(grantId, true);
      expect(await disputes.disputeCount()).to.equal(1n);
      expect(await disputes.openDisputeOf(grantId)).to.equal(1n);
      expect((await settlement.accountOf(grantId)).frozen).to.equal(true);
      const d = await disputes.getDispute(1);
      expect(d.grantId).to.equal(grantId);
      expect([d.consumer, d.provider, d.openedBy]).to.deep.equal([consumer.address, provider.address, consumer.address]);
      expect(d.openedAt).to.equal(BigInt(await time.latest()));
      expect([d.periodEnd, d.subject, d.status, d.ruling, d.refund]).to.deep.equal([0n, 0n, DisputeStatus.Open, 0n, 0n]);
      expect(d.evidenceHash).to.equal(EVIDENCE);
      expect((await disputes.getDispute(2)).status).to.equal(DisputeStatus.None);
    });

    it('lets the provider open one over a settled period (periodEnd recorded)', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, provider, grantId } = f;
      await expect(openTx(f, provider, { subject: Subject.Settlement, periodEnd: 777 }))
        .to.emit(disputes, 'DisputeOpened')
        .withArgs(1, grantId, provider.address, Subject.Settlement, 777, EVIDENCE);
      const d = await disputes.getDispute(1);
      expect([d.openedBy, d.periodEnd, d.subject]).to.deep.equal([provider.address, 777n, BigInt(Subject.Settlement)]);
    });

    it('rejects anyone but the two parties (DisputeNotParty)', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, admin, outsider, provider2, consumerFR, grantId } = f;
      for (const who of [outsider, provider2, consumerFR, admin]) {
        await expect(openTx(f, who))
          .to.be.revertedWithCustomError(disputes, 'DisputeNotParty')
          .withArgs(grantId, who.address);
      }
    });

    it('allows one open dispute per grant (DisputeAlreadyOpen), a new one after the ruling', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, admin, consumer, provider, grantId } = f;
      await openTx(f, consumer);
      for (const who of [consumer, provider]) {
        await expect(openTx(f, who))
          .to.be.revertedWithCustomError(disputes, 'DisputeAlreadyOpen')
          .withArgs(grantId, 1);
      }
      await disputes.connect(admin).rule(1, Verdict.Upheld, 0);
      await expect(openTx(f, provider)).to.emit(disputes, 'DisputeOpened').withArgs(2, grantId, provider.address, 0, 0, EVIDENCE);
      expect(await disputes.openDisputeOf(grantId)).to.equal(2n);
    });

    it('needs evidence (DisputeEvidenceMissing) and an issued grant (GrantUnknown)', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, grants, consumer } = f;
      await expect(openTx(f, consumer, { evidence: ethers.ZeroHash })).to.be.revertedWithCustomError(disputes, 'DisputeEvidenceMissing');
      const other = { ...f.req, nonce: 99 };
      await expect(openTx(f, consumer, { req: other }))
        .to.be.revertedWithCustomError(grants, 'GrantUnknown')
        .withArgs(await grants.hashGrantRequest(other));
    });

    it('opens on a free grant without touching Settlement (no account to freeze)', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, grants, settlement, provider, consumer, admin } = f;
      const FREE = h('free asset');
      await f.assets.connect(provider).registerAsset(FREE, 1, h('m'), '', [], [], []);
      await grants.connect(provider).setPolicy(FREE, policy(), [], []);
      const { grantId, req } = await issue(f, request({ ...f, assetId: FREE }));
      const tx = openTx(f, consumer, { req });
      await expect(tx).to.emit(disputes, 'DisputeOpened');
      await expect(tx).to.not.emit(settlement, 'AccountFrozen');
      await expect(disputes.connect(admin).rule(1, Verdict.Upheld, 0)).to.emit(disputes, 'DisputeRuled').withArgs(1, grantId, 1, 0, admin.address);
    });
  });

  describe('while open', function () {
    it('defers settlement (SettlementDeferred): nothing settled, nothing paid', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { settlement, provider, grantId, settledEnd } = f;
      const before = await settlement.accountOf(grantId);
      await time.increase(60);
      const end = await time.latest();
      const root = await anchorReceipts(f, 'while-open', 2);
      const tx = settlement.connect(provider).settle(settledEnd, end, root, [claim(grantId, 2)], [split(SOLO)]);
      await expect(tx).to.emit(settlement, 'SettlementDeferred').withArgs(grantId, end);
      await expect(tx).to.not.emit(settlement, 'UsageSettled');
      await expect(tx).to.not.emit(settlement, 'RevenuePaid');
      expect(await settlement.earningsOf(provider.address)).to.equal(21n);
      expect(await settlement.accountOf(grantId)).to.deep.equal(before);
    });

    it('blocks release (EscrowNotReleasable), even after the claim window', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { settlement, grants, disputes, provider, outsider, admin, grantId, req } = f;
      await grants.connect(provider).revokeGrant(req);
      await expect(settlement.connect(provider).release(grantId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(grantId);
      await time.increaseTo(req.notAfter + CLAIM_WINDOW);
      await expect(settlement.connect(outsider).release(grantId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(grantId);
      await disputes.connect(admin).rule(1, Verdict.Upheld, 0);
      await expect(settlement.connect(outsider).release(grantId))
        .to.emit(settlement, 'EscrowReleased')
        .withArgs(grantId, f.consumer.address, 49n, outsider.address);
    });

    it('takes evidence from both parties and the arbiter, nobody else', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { disputes, consumer, provider, admin, outsider, grantId } = f;
      for (const who of [consumer, provider, admin]) {
        const tx = disputes.connect(who).submitEvidence(1, h(`more from ${who.address}`), `ipfs://${who.address}`);
        await expect(tx).to.emit(disputes, 'Evidence').withArgs(ethers.ZeroAddress, 1, who.address, `ipfs://${who.address}`);
        await expect(tx).to.emit(disputes, 'EvidenceSubmitted').withArgs(1, who.address, h(`more from ${who.address}`));
      }
      await expect(disputes.connect(outsider).submitEvidence(1, h('x'), ''))
        .to.be.revertedWithCustomError(disputes, 'DisputeNotParty')
        .withArgs(grantId, outsider.address);
      await expect(disputes.connect(consumer).submitEvidence(1, ethers.ZeroHash, '')).to.be.revertedWithCustomError(
        disputes,
        'DisputeEvidenceMissing',
      );
      await expect(disputes.connect(consumer).submitEvidence(2, h('x'), ''))
        .to.be.revertedWithCustomError(disputes, 'DisputeNotOpen')
        .withArgs(2);
      await disputes.connect(admin).rule(1, Verdict.Upheld, 0);
      await expect(disputes.connect(consumer).submitEvidence(1, h('x'), ''))
        .to.be.revertedWithCustomError(disputes, 'DisputeNotOpen')
        .withArgs(1);
    });
  });

  describe('rule', function () {
    it('lets only the arbiter rule (DisputeNotArbiter)', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { disputes, consumer, provider, outsider } = f;
      for (const who of [outsider, consumer, provider]) {
        await expect(disputes.connect(who).rule(1, Verdict.Upheld, 0))
          .to.be.revertedWithCustomError(disputes, 'DisputeNotArbiter')
          .withArgs(who.address);
      }
    });

    it('rejects rulings that do not fit the refund (DisputeRulingInvalid) and non-open disputes (DisputeNotOpen)', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { disputes, admin } = f;
      for (const [ruling, refund] of [[Verdict.Refund, 0n], [Verdict.Upheld, 5n], [Verdict.Refused, 5n], [3, 0n], [3, 5n]]) {
        await expect(disputes.connect(admin).rule(1, ruling, refund))
          .to.be.revertedWithCustomError(disputes, 'DisputeRulingInvalid')
          .withArgs(ruling, refund);
      }
      await expect(disputes.connect(admin).rule(9, Verdict.Upheld, 0))
        .to.be.revertedWithCustomError(disputes, 'DisputeNotOpen')
        .withArgs(9);
      await disputes.connect(admin).rule(1, Verdict.Refused, 0); // refused counts as upheld
      expect((await disputes.getDispute(1)).ruling).to.equal(BigInt(Verdict.Refused));
      await expect(disputes.connect(admin).rule(1, Verdict.Upheld, 0))
        .to.be.revertedWithCustomError(disputes, 'DisputeNotOpen')
        .withArgs(1);
    });

    it('upholds: no refund, unfreezes (Ruling, DisputeRuled, AccountFrozen false)', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { disputes, settlement, admin, consumer, grantId } = f;
      const deposit = await settlement.depositOf(consumer.address);
      const tx = disputes.connect(admin).rule(1, Verdict.Upheld, 0);
      await expect(tx).to.emit(disputes, 'Ruling').withArgs(admin.address, 1, Verdict.Upheld);
      await expect(tx).to.emit(disputes, 'DisputeRuled').withArgs(1, grantId, Verdict.Upheld, 0, admin.address);
      await expect(tx).to.emit(settlement, 'AccountFrozen').withArgs(grantId, false);
      await expect(tx).to.not.emit(settlement, 'Refunded');
      expect(await settlement.depositOf(consumer.address)).to.equal(deposit);
      const d = await disputes.getDispute(1);
      expect([d.status, d.ruling, d.refund]).to.deep.equal([DisputeStatus.Ruled, BigInt(Verdict.Upheld), 0n]);
      expect(await disputes.openDisputeOf(grantId)).to.equal(0n);
    });

    it('refunds part from the lock into the deposit, unfreezes, and settlement proceeds', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { disputes, settlement, admin, provider, consumer, grantId, settledEnd } = f;
      const deposit = await settlement.depositOf(consumer.address);
      const tx = disputes.connect(admin).rule(1, Verdict.Refund, 30n);
      await expect(tx).to.emit(settlement, 'Refunded').withArgs(grantId, consumer.address, 30n, 0n);
      await expect(tx).to.emit(settlement, 'AccountFrozen').withArgs(grantId, false);
      await expect(tx).to.emit(disputes, 'Ruling').withArgs(admin.address, 1, Verdict.Refund);
      await expect(tx).to.emit(disputes, 'DisputeRuled').withArgs(1, grantId, Verdict.Refund, 30n, admin.address);
      expect(await settlement.depositOf(consumer.address)).to.equal(deposit + 30n);
      const a = await settlement.accountOf(grantId);
      expect([a.locked, a.frozen]).to.deep.equal([19n, false]); // 70 - 21 settled - 30 refunded
      expect(await settlement.earningsOf(provider.address)).to.equal(21n);
      expect((await disputes.getDispute(1)).refund).to.equal(30n);
      // the next period settles again (2 * 7 = 14 <= 19)
      await time.increase(60);
      const end = await time.latest();
      const root = await anchorReceipts(f, 'after', 2);
      await expect(settlement.connect(provider).settle(settledEnd, end, root, [claim(grantId, 2)], [split(SOLO)]))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(grantId, SOLO, consumer.address, settledEnd, end, 2, 0, 14n, root);
    });

    it('takes a refund beyond the lock from the provider\'s earnings, not more (SettlementRefundUnfunded)', async function () {
      const f = await loadFixture(openDisputeFixture);
      const { disputes, settlement, admin, provider, consumer, grantId } = f;
      // lock 49 + provider earnings 21 = 70
      await expect(disputes.connect(admin).rule(1, Verdict.Refund, 71n))
        .to.be.revertedWithCustomError(settlement, 'SettlementRefundUnfunded')
        .withArgs(grantId, 71n, 70n);
      expect((await disputes.getDispute(1)).status).to.equal(DisputeStatus.Open);
      const deposit = await settlement.depositOf(consumer.address);
      await expect(disputes.connect(admin).rule(1, Verdict.Refund, 60n))
        .to.emit(settlement, 'Refunded')
        .withArgs(grantId, consumer.address, 49n, 11n);
      expect(await settlement.earningsOf(provider.address)).to.equal(10n);
      expect((await settlement.accountOf(grantId)).locked).to.equal(0n);
      expect(await settlement.depositOf(consumer.address)).to.equal(deposit + 60n);
    });
  });

  describe('arbitrator', function () {
    it('hands ruling to the arbitrator once set; operators can no longer rule', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, settlement, admin, outsider, consumer, provider, grantId } = f;
      await expect(disputes.connect(provider).setArbitrator(outsider.address))
        .to.be.revertedWithCustomError(disputes, 'DisputeConfigUnauthorized')
        .withArgs(provider.address);
      await expect(disputes.connect(admin).setArbitrator(outsider.address)).to.emit(disputes, 'ArbitratorSet').withArgs(outsider.address);
      expect(await disputes.arbitrator()).to.equal(outsider.address);
      const tx = openTx(f, consumer);
      await expect(tx).to.emit(disputes, 'Dispute').withArgs(outsider.address, 1, BigInt(grantId), 1);
      await expect(tx).to.emit(disputes, 'Evidence').withArgs(outsider.address, 1, consumer.address, URI);
      await expect(disputes.connect(admin).rule(1, Verdict.Upheld, 0))
        .to.be.revertedWithCustomError(disputes, 'DisputeNotArbiter')
        .withArgs(admin.address);
      // the arbitrator may add evidence; the operator no longer may
      await expect(disputes.connect(outsider).submitEvidence(1, h('arb'), '')).to.emit(disputes, 'EvidenceSubmitted');
      await expect(disputes.connect(admin).submitEvidence(1, h('op'), ''))
        .to.be.revertedWithCustomError(disputes, 'DisputeNotParty')
        .withArgs(grantId, admin.address);
      const rule = disputes.connect(outsider).rule(1, Verdict.Refund, 10n);
      await expect(rule).to.emit(disputes, 'Ruling').withArgs(outsider.address, 1, Verdict.Refund);
      await expect(rule).to.emit(settlement, 'Refunded').withArgs(grantId, consumer.address, 10n, 0n);
      // cleared: operators rule again
      await disputes.connect(admin).setArbitrator(ethers.ZeroAddress);
      await openTx(f, consumer);
      await expect(disputes.connect(admin).rule(2, Verdict.Upheld, 0)).to.emit(disputes, 'DisputeRuled');
    });

    it('binds Settlement once, by an operator (DisputeConfigUnauthorized)', async function () {
      const f = await loadFixture(disputeFixture);
      const { disputes, admin, outsider, settlement } = f;
      for (const who of [admin, outsider]) {
        await expect(disputes.connect(who).bindSettlement(await settlement.getAddress()))
          .to.be.revertedWithCustomError(disputes, 'DisputeConfigUnauthorized')
          .withArgs(who.address);
      }
      const fresh = await ethers.deployContract('Disputes', [
        await f.participants.getAddress(), await f.grants.getAddress(), await f.assets.getAddress(),
      ]);
      await expect(fresh.connect(outsider).bindSettlement(await settlement.getAddress()))
        .to.be.revertedWithCustomError(fresh, 'DisputeConfigUnauthorized')
        .withArgs(outsider.address);
      await expect(fresh.connect(admin).bindSettlement(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(fresh, 'DisputeConfigUnauthorized')
        .withArgs(admin.address);
      await fresh.connect(admin).bindSettlement(await settlement.getAddress());
    });
  });
});
