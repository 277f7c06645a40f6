'use strict';
// What bounds a settlement beyond the lock: a grant's maxCount caps its settled uses (a free trial would
// otherwise leave room past it, and PayAfterUse has no lock); a revoked subscription keeps only the periods
// started before the revocation and returns the rest at once; a subscription whose lock a ruling reduced
// settles the periods still funded instead of getting stuck.
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const {
  PriceModel, PRICE, h, sha256, policy, paidRequest, issue, signStatement, anchorReceipts, split, claim, economyFixture,
} = require('./helpers');

const TRIAL = sha256('caps: dataset with a free trial');
const PAU = sha256('caps: pay-after-use dataset');
const SUB = sha256('caps: subscription dataset');
const DAY = 86400;

describe('Settlement caps: maxCount, revoked and refunded subscriptions', function () {
  it('Settlement rejects settling more units than the grant maxCount (Prepaid with a free trial)', async function () {
    const f = await loadFixture(economyFixture);
    const { settlement, assets, grants, provider } = f;
    await assets.connect(provider).registerAsset(TRIAL, 1, h('m'), '', [], [], []);
    await grants.connect(provider).setPolicy(TRIAL, policy({ priceModel: PriceModel.Prepaid, pricePerAccess: PRICE, freeUses: 3 }), [], []);
    const { grantId } = await issue(f, paidRequest(f, TRIAL, { maxCount: 10 })); // 70 locked
    await time.increase(3600);
    const end = await time.latest();
    const root = await anchorReceipts(f, 'cap', 13);
    // 13 uses of a 10-use grant: 3 free + 10 charged = 70 = the lock, so nothing stops it today
    await expect(settlement.connect(provider).settle(f.now, end, root, [claim(grantId, 13)], [split(TRIAL)]))
      .to.be.revertedWithCustomError(settlement, 'SettlementUnitsInvalid')
      .withArgs(grantId, 13, 10);
  });

  it('Settlement rejects settling more units than the grant maxCount (PayAfterUse, over periods)', async function () {
    const f = await loadFixture(economyFixture);
    const { settlement, assets, grants, provider, consumer } = f;
    await assets.connect(provider).registerAsset(PAU, 1, h('m'), '', [], [], []);
    await grants.connect(provider).setPolicy(PAU, policy({ priceModel: PriceModel.PayAfterUse, pricePerAccess: 5n }), [], []);
    const { grantId } = await issue(f, paidRequest(f, PAU, { pricePerAccess: 5n, maxCount: 10 }));
    await time.increase(3600);
    const end = await time.latest();
    const root = await anchorReceipts(f, 'pau1', 8);
    const s1 = await signStatement(settlement, consumer, { grantId, periodStart: f.now, periodEnd: end, units: 8, amount: 40n, receiptsRoot: root });
    await settlement.connect(provider).settle(f.now, end, root, [claim(grantId, 8, 0, s1)], [split(PAU)]);
    await time.increase(60);
    const end2 = await time.latest();
    const root2 = await anchorReceipts(f, 'pau2', 3);
    const s2 = await signStatement(settlement, consumer, { grantId, periodStart: end, periodEnd: end2, units: 3, amount: 15n, receiptsRoot: root2 });
    // 8 + 3 = 11 > 10: only 2 units are left on this grant
    await expect(settlement.connect(provider).settle(end, end2, root2, [claim(grantId, 3, 0, s2)], [split(PAU)]))
      .to.be.revertedWithCustomError(settlement, 'SettlementUnitsInvalid')
      .withArgs(grantId, 3, 2);
  });

  async function subscription(f) {
    const { assets, grants, provider } = f;
    await assets.connect(provider).registerAsset(SUB, 1, h('m'), '', [], [], []);
    await grants.connect(provider).setPolicy(SUB, policy({ priceModel: PriceModel.Subscription, pricePerAccess: 100n, period: DAY }), [], []);
    const req = paidRequest(f, SUB, { pricePerAccess: 100n, notBefore: f.now, notAfter: f.now + 5 * DAY });
    const { grantId } = await issue(f, req); // 5 periods x 100 locked
    return { req, grantId };
  }

  it('a revoked subscription keeps the periods started and returns the rest at once', async function () {
    const f = await loadFixture(economyFixture);
    const { settlement, grants, provider, consumer } = f;
    const { req, grantId } = await subscription(f);
    expect((await settlement.accountOf(grantId)).locked).to.equal(500n);
    await time.increase(DAY + 60); // inside the second period
    const deposit = await settlement.depositOf(consumer.address);
    await expect(grants.connect(provider).revokeGrant(req))
      .to.emit(settlement, 'EscrowReleased').withArgs(grantId, consumer.address, 300n, provider.address);
    expect((await settlement.accountOf(grantId)).locked).to.equal(200n);
    expect(await settlement.depositOf(consumer.address)).to.equal(deposit + 300n);
    await time.increase(3 * DAY); // later periods are not charged after the revocation
    const end = await time.latest();
    await expect(settlement.connect(provider).settle(f.now, end, ethers.ZeroHash, [claim(grantId, 3)], [split(SUB)]))
      .to.be.revertedWithCustomError(settlement, 'SettlementUnitsInvalid').withArgs(grantId, 3, 2);
    await settlement.connect(provider).settle(f.now, end, ethers.ZeroHash, [claim(grantId, 2)], [split(SUB)]);
    expect((await settlement.accountOf(grantId)).locked).to.equal(0n);
  });

  it('a subscription whose lock a ruling reduced settles what is still funded', async function () {
    const f = await loadFixture(economyFixture);
    const { settlement, disputes, admin, provider, consumer } = f;
    const { req, grantId } = await subscription(f);
    await disputes.connect(consumer).open(req, 0, 0, h('evidence'), 'ipfs://evidence');
    await disputes.connect(admin).rule(1, 2, 350n); // 150 left: one and a half periods
    await time.increase(3 * DAY);
    const end = await time.latest();
    await settlement.connect(provider).settle(f.now, end, ethers.ZeroHash, [claim(grantId, 1)], [split(SUB)]);
    const account = await settlement.accountOf(grantId);
    expect(account.locked).to.equal(50n);
    expect(account.units).to.equal(1n);
  });
});
