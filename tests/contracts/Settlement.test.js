'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const {
  KIND_ASSETS, CLAIM_WINDOW, ROYALTY_BPS, GrantStatus, PriceModel, USAGE_STATEMENT_TYPES, PRICE, SOLO, CO_OWNED,
  h, sha256, policy, paidRequest, issue, signBoth, signStatement, settlementDomainOf, fund, anchorReceipts, split, claim,
  onboardedFixture, economyFixture,
} = require('./helpers');

const DAY = 86400;
const TRIO = sha256('three-owner dataset');
const TRIAL = sha256('dataset with a free trial');
const PAU = sha256('pay-after-use dataset');
const SUB = sha256('subscription dataset');

/** settle() from the provider (or `from`). */
function settleTx(f, { start, end, root = ethers.ZeroHash, claims, splits, from }) {
  return f.settlement.connect(from || f.provider).settle(start, end, root, claims, splits);
}

/** economyFixture + one Prepaid grant on SOLO (maxCount 10: 70 locked) and one on CO_OWNED. */
async function prepaidFixture() {
  const f = await economyFixture();
  const solo = await issue(f, paidRequest(f, SOLO));
  const co = await issue(f, paidRequest(f, CO_OWNED));
  return { ...f, soloId: solo.grantId, soloReq: solo.req, coId: co.grantId, coReq: co.req };
}

/** The period [f.now, now] after an hour has passed. */
async function firstPeriod(f) {
  await time.increase(3600);
  return { start: f.now, end: await time.latest() };
}

async function setPaid(f, assetId, terms, { owners = [], shares = [], parents = [], from } = {}) {
  const p = from || f.provider;
  await f.assets.connect(p).registerAsset(assetId, 10, h('m'), '', parents, owners, shares);
  await f.grants.connect(p).setPolicy(assetId, policy({ maxCount: 100, ...terms }), [], []);
}

describe('SettlementToken', function () {
  it('has name, symbol, 18 decimals; the operator mints, others cannot', async function () {
    const { token, admin, consumer, outsider } = await loadFixture(onboardedFixture);
    expect(await token.name()).to.equal('TDS Settlement Token');
    expect(await token.symbol()).to.equal('TDST');
    expect(await token.decimals()).to.equal(18n);
    expect(await token.owner()).to.equal(admin.address);
    await expect(token.mint(consumer.address, 5n))
      .to.emit(token, 'Transfer')
      .withArgs(ethers.ZeroAddress, consumer.address, 5n);
    expect(await token.balanceOf(consumer.address)).to.equal(5n);
    await expect(token.connect(outsider).mint(outsider.address, 1n))
      .to.be.revertedWithCustomError(token, 'OwnableUnauthorizedAccount')
      .withArgs(outsider.address);
  });
});

describe('Settlement escrow', function () {
  it('is configured by the constructor (token, claim window, royalty, EIP-712 domain)', async function () {
    const { settlement, token } = await loadFixture(onboardedFixture);
    expect(await settlement.token()).to.equal(await token.getAddress());
    expect(await settlement.claimWindow()).to.equal(BigInt(CLAIM_WINDOW));
    expect(await settlement.royaltyBps()).to.equal(BigInt(ROYALTY_BPS));
    expect(await settlement.MAX_ROYALTY_DEPTH()).to.equal(4n);
    const d = await settlement.eip712Domain();
    expect([d.name, d.version, d.verifyingContract]).to.deep.equal(['TDS Settlement', '1', await settlement.getAddress()]);
  });

  it('takes deposits into the free deposit and pays them back (Deposited, Withdrawn)', async function () {
    const { settlement, token, consumer } = await loadFixture(onboardedFixture);
    await token.mint(consumer.address, 500n);
    await token.connect(consumer).approve(await settlement.getAddress(), 500n);
    const dep = settlement.connect(consumer).deposit(300n);
    await expect(dep).to.emit(settlement, 'Deposited').withArgs(consumer.address, 300n);
    await expect(dep).to.changeTokenBalances(token, [consumer, settlement], [-300n, 300n]);
    expect(await settlement.depositOf(consumer.address)).to.equal(300n);
    const wd = settlement.connect(consumer).withdrawDeposit(120n);
    await expect(wd).to.emit(settlement, 'Withdrawn').withArgs(consumer.address, 120n, false);
    await expect(wd).to.changeTokenBalances(token, [consumer, settlement], [120n, -120n]);
    expect(await settlement.depositOf(consumer.address)).to.equal(180n);
    await expect(settlement.connect(consumer).withdrawDeposit(181n))
      .to.be.revertedWithCustomError(settlement, 'SettlementInsufficientBalance')
      .withArgs(consumer.address, 181n, 180n);
    // a deposit beyond the allowance fails in the token
    await expect(settlement.connect(consumer).deposit(201n))
      .to.be.revertedWithCustomError(token, 'ERC20InsufficientAllowance')
      .withArgs(await settlement.getAddress(), 200n, 201n);
  });

  it('locks maxCount * price of the deposit when a Prepaid grant is issued (EscrowLocked)', async function () {
    const f = await loadFixture(economyFixture);
    const { settlement, grants, provider, consumer } = f;
    const req = paidRequest(f, SOLO, { maxCount: 10 });
    const { grantId, sig, acceptance } = await signBoth(f, req);
    await expect(grants.connect(provider).issueGrant(req, sig, acceptance))
      .to.emit(settlement, 'EscrowLocked')
      .withArgs(grantId, SOLO, consumer.address, PriceModel.Prepaid, PRICE, 70n);
    expect(await settlement.depositOf(consumer.address)).to.equal(100_000n - 70n);
    const a = await settlement.accountOf(grantId);
    expect(a.consumer).to.equal(consumer.address);
    expect(a.priceModel).to.equal(BigInt(PriceModel.Prepaid));
    expect(a.price).to.equal(PRICE);
    expect(a.locked).to.equal(70n);
    expect(a.assetId).to.equal(SOLO);
    expect([a.settledUntil, a.units, a.freeUses, a.period]).to.deep.equal([0n, 0n, 0n, 0n]);
    expect([a.frozen, a.released]).to.deep.equal([false, false]);
  });

  it('issues nothing when the deposit is too small (EscrowDepositTooSmall), deposit unchanged', async function () {
    const f = await loadFixture(economyFixture);
    const { settlement, grants, provider, consumerFR } = f;
    await fund(f, consumerFR, 100n, 69n);
    const req = paidRequest(f, SOLO, { consumer: consumerFR.address, maxCount: 10 });
    const { grantId, sig, acceptance } = await signBoth(f, req, { consumer: consumerFR });
    await expect(grants.connect(provider).issueGrant(req, sig, acceptance))
      .to.be.revertedWithCustomError(settlement, 'EscrowDepositTooSmall')
      .withArgs(consumerFR.address, 70n, 69n);
    expect((await grants.getGrant(grantId)).status).to.equal(GrantStatus.None);
    expect((await settlement.accountOf(grantId)).consumer).to.equal(ethers.ZeroAddress);
    expect(await settlement.depositOf(consumerFR.address)).to.equal(69n);
    // one more unit deposited and the same signed request goes through
    await settlement.connect(consumerFR).deposit(1n);
    await expect(grants.connect(provider).issueGrant(req, sig, acceptance)).to.emit(settlement, 'EscrowLocked');
    expect(await settlement.depositOf(consumerFR.address)).to.equal(0n);
  });

  it('locks ceil(window / period) * price for a Subscription, nothing for PayAfterUse', async function () {
    const f = await loadFixture(economyFixture);
    const { settlement, consumer } = f;
    await setPaid(f, SUB, { priceModel: PriceModel.Subscription, pricePerAccess: 100n, period: DAY });
    await setPaid(f, PAU, { priceModel: PriceModel.PayAfterUse, pricePerAccess: 5n });
    const cases = [
      [3 * DAY, 300n], // exactly 3 periods
      [2 * DAY + DAY / 2, 300n], // 2.5 started periods -> 3
      [DAY + 1, 200n],
      [DAY, 100n],
      [DAY / 2, 100n],
    ];
    let nonce = 0;
    for (const [window, locked] of cases) {
      nonce += 1;
      const req = paidRequest(f, SUB, { pricePerAccess: 100n, notAfter: f.now + window, nonce });
      const before = await settlement.depositOf(consumer.address);
      const { grantId } = await issue(f, req);
      const a = await settlement.accountOf(grantId);
      expect(a.locked, `window ${window}`).to.equal(locked);
      expect(a.period).to.equal(BigInt(DAY));
      expect(a.priceModel).to.equal(BigInt(PriceModel.Subscription));
      expect(before - (await settlement.depositOf(consumer.address))).to.equal(locked);
    }
    const req = paidRequest(f, PAU, { pricePerAccess: 5n });
    const { grantId, sig, acceptance } = await signBoth(f, req);
    const before = await settlement.depositOf(consumer.address);
    await expect(f.grants.connect(f.provider).issueGrant(req, sig, acceptance))
      .to.emit(settlement, 'EscrowLocked')
      .withArgs(grantId, PAU, consumer.address, PriceModel.PayAfterUse, 5n, 0n);
    expect(await settlement.depositOf(consumer.address)).to.equal(before);
  });

  it('does not let the consumer withdraw locked funds (SettlementInsufficientBalance)', async function () {
    const { settlement, consumer } = await loadFixture(prepaidFixture);
    const free = 100_000n - 140n; // two grants of 70 locked
    expect(await settlement.depositOf(consumer.address)).to.equal(free);
    await expect(settlement.connect(consumer).withdrawDeposit(100_000n))
      .to.be.revertedWithCustomError(settlement, 'SettlementInsufficientBalance')
      .withArgs(consumer.address, 100_000n, free);
    await expect(settlement.connect(consumer).withdrawDeposit(free)).to.emit(settlement, 'Withdrawn');
  });

  describe('release', function () {
    it('lets the provider release once the grant is revoked (EscrowReleased); twice fails (EscrowNotReleasable)', async function () {
      const { settlement, grants, provider, consumer, soloId, soloReq } = await loadFixture(prepaidFixture);
      await expect(settlement.connect(provider).release(soloId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(soloId); // still live
      await grants.connect(provider).revokeGrant(soloReq);
      const before = await settlement.depositOf(consumer.address);
      await expect(settlement.connect(provider).release(soloId))
        .to.emit(settlement, 'EscrowReleased')
        .withArgs(soloId, consumer.address, 70n, provider.address);
      expect(await settlement.depositOf(consumer.address)).to.equal(before + 70n);
      const a = await settlement.accountOf(soloId);
      expect([a.locked, a.released]).to.deep.equal([0n, true]);
      await expect(settlement.connect(provider).release(soloId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(soloId);
    });

    it('lets the provider release at expiry, anyone only after notAfter + claimWindow', async function () {
      const { settlement, provider, consumer, outsider, soloId, soloReq, coId } = await loadFixture(prepaidFixture);
      await time.increaseTo(soloReq.notAfter);
      await expect(settlement.connect(outsider).release(soloId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(soloId);
      await expect(settlement.connect(consumer).release(soloId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(soloId);
      await expect(settlement.connect(provider).release(coId)).to.emit(settlement, 'EscrowReleased');
      await time.increaseTo(soloReq.notAfter + CLAIM_WINDOW - 2);
      await expect(settlement.connect(outsider).release(soloId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(soloId);
      await time.increaseTo(soloReq.notAfter + CLAIM_WINDOW);
      await expect(settlement.connect(outsider).release(soloId))
        .to.emit(settlement, 'EscrowReleased')
        .withArgs(soloId, consumer.address, 70n, outsider.address);
      await expect(settlement.connect(outsider).release(soloId))
        .to.be.revertedWithCustomError(settlement, 'EscrowNotReleasable')
        .withArgs(soloId);
    });

    it('rejects a grant without an account (SettlementUnknownGrant)', async function () {
      const { settlement, outsider } = await loadFixture(prepaidFixture);
      await expect(settlement.connect(outsider).release(h('nothing')))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnknownGrant')
        .withArgs(h('nothing'));
    });

    it('returns only what is left after settlement; settling after release exceeds the lock', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, grants, provider, consumer, soloId, soloReq } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r1', 3);
      await settleTx(f, { start, end, root, claims: [claim(soloId, 3)], splits: [split(SOLO)] });
      await grants.connect(provider).revokeGrant(soloReq);
      await expect(settlement.connect(provider).release(soloId))
        .to.emit(settlement, 'EscrowReleased')
        .withArgs(soloId, consumer.address, 49n, provider.address);
      const end2 = await time.latest();
      const root2 = await anchorReceipts(f, 'r2', 1);
      await expect(settleTx(f, { start: end, end: end2, root: root2, claims: [claim(soloId, 1)], splits: [split(SOLO)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementExceedsLock')
        .withArgs(soloId, PRICE, 0n);
    });
  });

  it('lets only UsageGrants open accounts and only Disputes freeze or resolve (SettlementUnauthorized)', async function () {
    const { settlement, outsider, provider, consumer, soloId } = await loadFixture(prepaidFixture);
    const pricing = { priceModel: PriceModel.Prepaid, freeUses: 0, period: 0, price: 1n };
    for (const who of [outsider, provider]) {
      await expect(settlement.connect(who).openAccount(h('g'), SOLO, consumer.address, pricing, 0n))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnauthorized')
        .withArgs(who.address);
      await expect(settlement.connect(who).freeze(soloId))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnauthorized')
        .withArgs(who.address);
      await expect(settlement.connect(who).resolve(soloId, consumer.address, provider.address, 1n))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnauthorized')
        .withArgs(who.address);
    }
  });
});

describe('Settlement settle', function () {
  describe('Prepaid', function () {
    it('settles anchored usage from the lock (UsageSettled, RevenuePaid, earningsOf)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, token, provider, consumer, soloId } = f;
      const { start, end } = await firstPeriod(f);
      const tree = StandardMerkleTree.of(
        [0, 1, 2].map((i) => [soloId, consumer.address, BigInt(i)]),
        ['bytes32', 'address', 'uint256'],
      );
      await f.anchors.connect(provider).anchorRoot(tree.root, 3, 1);
      const tx = settleTx(f, { start, end, root: tree.root, claims: [claim(soloId, 3)], splits: [split(SOLO)] });
      await expect(tx)
        .to.emit(settlement, 'UsageSettled')
        .withArgs(soloId, SOLO, consumer.address, start, end, 3, 0, 21n, tree.root);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(soloId, SOLO, provider.address, 21n, 0);
      await expect(tx).to.not.emit(token, 'Transfer'); // money moves inside the contract only
      expect(await settlement.earningsOf(provider.address)).to.equal(21n);
      const a = await settlement.accountOf(soloId);
      expect([a.locked, a.settledUntil, a.units]).to.deep.equal([49n, BigInt(end), 3n]);
    });

    it('treats a period settled before as a no-op, rejects overlapping and future periods', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, provider, soloId } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'p1', 10);
      const args = { start, end, root, claims: [claim(soloId, 3)], splits: [split(SOLO)] };
      await settleTx(f, args);
      const account = await settlement.accountOf(soloId);
      // the same period again, or a period inside it: nothing happens
      for (const again of [args, { ...args, start: start + 10, end: end - 10 }]) {
        const tx = settleTx(f, again);
        await expect(tx).to.not.emit(settlement, 'UsageSettled');
        await expect(tx).to.not.emit(settlement, 'RevenuePaid');
      }
      expect(await settlement.earningsOf(provider.address)).to.equal(21n);
      expect(await settlement.accountOf(soloId)).to.deep.equal(account);
      // overlapping the settled period
      await time.increase(100);
      const later = await time.latest();
      await expect(settleTx(f, { ...args, start: end - 1, end: later }))
        .to.be.revertedWithCustomError(settlement, 'SettlementPeriodInvalid')
        .withArgs(soloId, end - 1, later);
      // a period not over yet, and an empty one
      await expect(settleTx(f, { ...args, start: end, end: later + 1000 }))
        .to.be.revertedWithCustomError(settlement, 'SettlementPeriodInvalid')
        .withArgs(ethers.ZeroHash, end, later + 1000);
      await expect(settleTx(f, { ...args, start: later, end: later }))
        .to.be.revertedWithCustomError(settlement, 'SettlementPeriodInvalid')
        .withArgs(ethers.ZeroHash, later, later);
      // the next adjacent period settles
      await expect(settleTx(f, { ...args, start: end, end: later, claims: [claim(soloId, 2)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(soloId, SOLO, f.consumer.address, end, later, 2, 0, 14n, root);
    });

    it('needs a receipts root anchored by the provider itself (SettlementRootNotAnchored)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, anchors, provider, provider2, soloId } = f;
      const { start, end } = await firstPeriod(f);
      const root = h('receipts:unanchored');
      const args = { start, end, root, claims: [claim(soloId, 3)], splits: [split(SOLO)] };
      await expect(settleTx(f, args)).to.be.revertedWithCustomError(settlement, 'SettlementRootNotAnchored').withArgs(root);
      await anchors.connect(provider2).anchorRoot(root, 100, 1); // another provider's anchor
      await expect(settleTx(f, args)).to.be.revertedWithCustomError(settlement, 'SettlementRootNotAnchored').withArgs(root);
      const assetsRoot = h('an asset batch');
      await anchors.connect(provider).anchorRoot(assetsRoot, 100, KIND_ASSETS); // wrong kind
      await expect(settleTx(f, { ...args, root: assetsRoot }))
        .to.be.revertedWithCustomError(settlement, 'SettlementRootNotAnchored')
        .withArgs(assetsRoot);
      await expect(settleTx(f, { ...args, root: ethers.ZeroHash }))
        .to.be.revertedWithCustomError(settlement, 'SettlementRootNotAnchored')
        .withArgs(ethers.ZeroHash);
      await anchors.connect(provider).anchorRoot(root, 3, 1);
      await expect(settleTx(f, args)).to.emit(settlement, 'UsageSettled');
    });

    it('rejects more units than the root has receipts, summed over the batch (SettlementUnitsExceedRoot)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, soloId, coId, owners, shares } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'small', 3);
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 4)], splits: [split(SOLO)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnitsExceedRoot')
        .withArgs(4, 3);
      const splits = [split(SOLO), split(CO_OWNED, owners, shares)];
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 2), claim(coId, 2, 1)], splits }))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnitsExceedRoot')
        .withArgs(4, 3);
      // both grants in one batch within the root: both settle
      const tx = settleTx(f, { start, end, root, claims: [claim(soloId, 2), claim(coId, 1, 1)], splits });
      await expect(tx).to.emit(settlement, 'UsageSettled').withArgs(soloId, SOLO, f.consumer.address, start, end, 2, 0, 14n, root);
      await expect(tx).to.emit(settlement, 'UsageSettled').withArgs(coId, CO_OWNED, f.consumer.address, start, end, 1, 0, 7n, root);
    });

    it('rejects an amount above the lock (SettlementExceedsLock) and zero units (SettlementUnitsInvalid)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, disputes, admin, consumer, soloId, soloReq } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'big', 100);
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 0)], splits: [split(SOLO)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnitsInvalid')
        .withArgs(soloId, 0, 1);
      // a ruling refunds 30 of the 70 locked: the grant's 10 uses no longer fit
      await disputes.connect(consumer).open(soloReq, 0, 0, h('evidence'), '');
      await disputes.connect(admin).rule(1, 2, 30n);
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 10)], splits: [split(SOLO)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementExceedsLock')
        .withArgs(soloId, 70n, 40n);
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 5)], splits: [split(SOLO)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(soloId, SOLO, f.consumer.address, start, end, 5, 0, 35n, root);
      expect((await settlement.accountOf(soloId)).locked).to.equal(5n);
    });

    it('settles the whole lock at maxCount uses', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, soloId } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'all', 10);
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 10)], splits: [split(SOLO)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(soloId, SOLO, f.consumer.address, start, end, 10, 0, 70n, root);
      expect((await settlement.accountOf(soloId)).locked).to.equal(0n);
    });

    it('lets only the asset provider settle (SettlementNotProvider), an active provider at that', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, participants, provider, provider2, consumer, soloId } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 3);
      const args = { start, end, root, claims: [claim(soloId, 3)], splits: [split(SOLO)] };
      await expect(settleTx(f, { ...args, from: provider2 }))
        .to.be.revertedWithCustomError(settlement, 'SettlementNotProvider')
        .withArgs(soloId, provider2.address);
      await expect(settleTx(f, { ...args, from: consumer }))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(consumer.address, 1);
      await participants.suspend(provider.address);
      await expect(settleTx(f, args))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(provider.address);
    });

    it('rejects a grant without an account (SettlementUnknownGrant)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 3);
      await expect(settleTx(f, { start, end, root, claims: [claim(h('free grant'), 1)], splits: [split(SOLO)] }))
        .to.be.revertedWithCustomError(f.settlement, 'SettlementUnknownGrant')
        .withArgs(h('free grant'));
    });

    it('still settles a revoked grant (usage before revocation stays billable)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, grants, provider, soloId, soloReq } = f;
      await grants.connect(provider).revokeGrant(soloReq);
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 2);
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 2)], splits: [split(SOLO)] }))
        .to.emit(settlement, 'RevenuePaid')
        .withArgs(soloId, SOLO, provider.address, 14n, 0);
    });
  });

  describe('splits: owners and shares', function () {
    it('rejects owners, shares or assets other than the registered ones (SettlementSplitMismatch)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, provider, owner2, outsider, coId, soloId } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 10);
      const bad = [
        [[provider.address, owner2.address], [3000, 7000]],
        [[owner2.address, provider.address], [7000, 3000]],
        [[provider.address, outsider.address], [7000, 3000]],
        [[provider.address], [10000]],
        [[], []],
      ];
      for (const [o, s] of bad) {
        await expect(settleTx(f, { start, end, root, claims: [claim(coId, 1)], splits: [split(CO_OWNED, o, s)] }))
          .to.be.revertedWithCustomError(settlement, 'SettlementSplitMismatch')
          .withArgs(CO_OWNED);
      }
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 1)], splits: [split(SOLO, [outsider.address], [10000])] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementSplitMismatch')
        .withArgs(SOLO);
      // a correct split of another asset than the grant's
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 1)], splits: [split(CO_OWNED, f.owners, f.shares)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementSplitMismatch')
        .withArgs(SOLO);
      // an unregistered asset
      await expect(settleTx(f, { start, end, root, claims: [claim(soloId, 1)], splits: [split(SOLO), split(TRIO)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementSplitMismatch')
        .withArgs(TRIO);
    });

    it('pays two owners by shares, rounding dust to the first', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, provider, owner2, coId, owners, shares } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 3);
      // 3 * 7 = 21: owner2 21 * 3000 / 10000 = 6 (6.3 floored), provider 21 - 6 = 15
      const tx = settleTx(f, { start, end, root, claims: [claim(coId, 3)], splits: [split(CO_OWNED, owners, shares)] });
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(coId, CO_OWNED, owner2.address, 6n, 0);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(coId, CO_OWNED, provider.address, 15n, 0);
      expect(await settlement.earningsOf(owner2.address)).to.equal(6n);
      expect(await settlement.earningsOf(provider.address)).to.equal(15n);
    });

    it('pays three owners by shares (dust to the first owner, who need not be the provider)', async function () {
      const f = await loadFixture(economyFixture);
      const { settlement, provider, owner2, others } = f;
      const owners = [others[0].address, owner2.address, provider.address];
      const shares = [2000, 3000, 5000];
      await setPaid(f, TRIO, { priceModel: PriceModel.Prepaid, pricePerAccess: PRICE }, { owners, shares });
      const { grantId } = await issue(f, paidRequest(f, TRIO));
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 3);
      // 21: owner2 6 (6.3), provider 10 (10.5), others[0] 21 - 16 = 5 (4.2 + dust)
      const tx = settleTx(f, { start, end, root, claims: [claim(grantId, 3)], splits: [split(TRIO, owners, shares)] });
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, TRIO, owner2.address, 6n, 0);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, TRIO, provider.address, 10n, 0);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, TRIO, others[0].address, 5n, 0);
      expect(await settlement.earningsOf(others[0].address)).to.equal(5n);
    });

    it('lets owners withdraw earnings (Withdrawn), not more (SettlementInsufficientBalance)', async function () {
      const f = await loadFixture(prepaidFixture);
      const { settlement, token, provider, owner2, coId, owners, shares } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 3);
      await settleTx(f, { start, end, root, claims: [claim(coId, 3)], splits: [split(CO_OWNED, owners, shares)] });
      await expect(settlement.connect(owner2).withdraw(7n))
        .to.be.revertedWithCustomError(settlement, 'SettlementInsufficientBalance')
        .withArgs(owner2.address, 7n, 6n);
      const tx = settlement.connect(owner2).withdraw(6n);
      await expect(tx).to.emit(settlement, 'Withdrawn').withArgs(owner2.address, 6n, true);
      await expect(tx).to.changeTokenBalances(token, [owner2, settlement], [6n, -6n]);
      await expect(settlement.connect(provider).withdraw(10n)).to.changeTokenBalance(token, provider, 10n);
      expect(await settlement.earningsOf(provider.address)).to.equal(5n);
      expect(await settlement.earningsOf(owner2.address)).to.equal(0n);
      // earnings and deposits are separate balances
      await expect(settlement.connect(f.consumer).withdraw(1n))
        .to.be.revertedWithCustomError(settlement, 'SettlementInsufficientBalance')
        .withArgs(f.consumer.address, 1n, 0n);
    });
  });

  describe('lineage royalties', function () {
    const G = sha256('grandparent');
    const A = sha256('parent A');
    const B = sha256('parent B');
    const D = sha256('derived D');

    /** G (others[1]) <- A (owner2) ; B (provider2, provider-owned) ; D (provider) derived from [A, B]. */
    async function lineageFixture() {
      const f = await economyFixture();
      const { assets, provider2, owner2, others } = f;
      await assets.connect(provider2).registerAsset(G, 1, h('m'), '', [], [others[1].address], [10000]);
      await assets.connect(provider2).registerAsset(A, 1, h('m'), '', [G], [owner2.address], [10000]);
      await assets.connect(provider2).registerAsset(B, 1, h('m'), '', [], [], []);
      await setPaid(f, D, { priceModel: PriceModel.Prepaid, pricePerAccess: 1000n }, { parents: [A, B] });
      const { grantId, req } = await issue(f, paidRequest(f, D, { pricePerAccess: 1000n }));
      const splits = [
        split(D, [], [], [1, 2]),
        split(A, [owner2.address], [10000], [3]),
        split(B),
        split(G, [others[1].address], [10000]),
      ];
      return { ...f, grantId, req, splits };
    }

    it('passes royaltyBps of a derived asset to its parents in equal parts, recursively', async function () {
      const f = await loadFixture(lineageFixture);
      const { settlement, provider, provider2, owner2, others, grantId, splits } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 1);
      // 1000: royalty 10 % = 100 -> A 50, B 50; A passes 10 % of 50 = 5 to G, keeps 45; D keeps 900
      const tx = settleTx(f, { start, end, root, claims: [claim(grantId, 1)], splits });
      await expect(tx).to.emit(settlement, 'UsageSettled').withArgs(grantId, D, f.consumer.address, start, end, 1, 0, 1000n, root);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, D, provider.address, 900n, 0);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, A, owner2.address, 45n, 1);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, G, others[1].address, 5n, 2);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, B, provider2.address, 50n, 1);
      expect(await settlement.earningsOf(provider.address)).to.equal(900n);
      expect(await settlement.earningsOf(owner2.address)).to.equal(45n);
      expect(await settlement.earningsOf(provider2.address)).to.equal(50n);
      expect(await settlement.earningsOf(others[1].address)).to.equal(5n);
    });

    it('rejects a lineage other than the registered one (SettlementSplitMismatch)', async function () {
      const f = await loadFixture(lineageFixture);
      const { settlement, owner2, others, grantId } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 1);
      const a = split(A, [owner2.address], [10000], [3]);
      const g = split(G, [others[1].address], [10000]);
      const cases = [
        [D, [split(D, [], [], [2, 1]), a, split(B), g]], // parents in another order
        [D, [split(D, [], [], [1]), a, split(B), g]], // a parent left out (no royalty to B)
        [D, [split(D), a, split(B), g]], // no parents at all
        [D, [split(D, [], [], [1, 1]), a, split(B), g]], // a parent twice
        [A, [split(D, [], [], [1, 2]), split(A, [owner2.address], [10000]), split(B), g]], // the grandparent left out
      ];
      for (const [bad, splits] of cases) {
        await expect(settleTx(f, { start, end, root, claims: [claim(grantId, 1)], splits }))
          .to.be.revertedWithCustomError(settlement, 'SettlementSplitMismatch')
          .withArgs(bad);
      }
    });

    it('rounds the parents\' dust to the first parent; setRoyalty changes the rate (operator only)', async function () {
      const f = await loadFixture(economyFixture);
      const { settlement, assets, provider, provider2, admin, outsider } = f;
      const P = [sha256('p1'), sha256('p2'), sha256('p3')];
      for (const p of P) await assets.connect(provider2).registerAsset(p, 1, h('m'), '', [], [], []);
      const E = sha256('derived from three');
      await setPaid(f, E, { priceModel: PriceModel.Prepaid, pricePerAccess: 1000n }, { parents: P });
      const { grantId } = await issue(f, paidRequest(f, E, { pricePerAccess: 1000n }));
      const splits = [split(E, [], [], [1, 2, 3]), split(P[0]), split(P[1]), split(P[2])];
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 1);
      // royalty 100 / 3 = 33 each, the first parent 34
      const tx = settleTx(f, { start, end, root, claims: [claim(grantId, 1)], splits });
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, P[0], provider2.address, 34n, 1);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, P[1], provider2.address, 33n, 1);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, P[2], provider2.address, 33n, 1);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, E, provider.address, 900n, 0);

      await expect(settlement.connect(outsider).setRoyalty(0)).to.be.revertedWithCustomError(settlement, 'SettlementConfigInvalid');
      await expect(settlement.connect(provider).setRoyalty(0)).to.be.revertedWithCustomError(settlement, 'SettlementConfigInvalid');
      await expect(settlement.connect(admin).setRoyalty(10001)).to.be.revertedWithCustomError(settlement, 'SettlementConfigInvalid');
      await expect(settlement.connect(admin).setRoyalty(0)).to.emit(settlement, 'RoyaltySet').withArgs(0);
      expect(await settlement.royaltyBps()).to.equal(0n);
      const end2 = await time.latest();
      const root2 = await anchorReceipts(f, 'r2', 1);
      const tx2 = settleTx(f, { start: end, end: end2, root: root2, claims: [claim(grantId, 1)], splits });
      await expect(tx2).to.emit(settlement, 'RevenuePaid').withArgs(grantId, E, provider.address, 1000n, 0);
      expect(await settlement.earningsOf(provider2.address)).to.equal(100n);
    });

    it('stops the royalty after MAX_ROYALTY_DEPTH lineage steps', async function () {
      const f = await loadFixture(economyFixture);
      const { settlement, assets, provider, provider2, admin } = f;
      // L0 <- L1 <- L2 <- L3 <- L4 (provider2) <- L5 (provider, the settled asset); royalty 50 %
      const L = [0, 1, 2, 3, 4, 5].map((i) => sha256(`level ${i}`));
      for (let i = 0; i < 5; i++) await assets.connect(provider2).registerAsset(L[i], 1, h('m'), '', i ? [L[i - 1]] : [], [], []);
      await setPaid(f, L[5], { priceModel: PriceModel.Prepaid, pricePerAccess: 10000n }, { parents: [L[4]] });
      await settlement.connect(admin).setRoyalty(5000);
      await fund(f, f.consumer, 100_000n);
      const { grantId } = await issue(f, paidRequest(f, L[5], { pricePerAccess: 10000n, maxCount: 1 }));
      // splits[k] = L[5 - k]; each one's parent is the next
      const splits = [5, 4, 3, 2, 1, 0].map((lvl, k) => split(L[lvl], [], [], lvl ? [k + 1] : []));
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 1);
      const tx = settleTx(f, { start, end, root, claims: [claim(grantId, 1)], splits });
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, L[5], provider.address, 5000n, 0);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, L[4], provider2.address, 2500n, 1);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, L[3], provider2.address, 1250n, 2);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, L[2], provider2.address, 625n, 3);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, L[1], provider2.address, 625n, 4); // keeps all
      const receipt = await (await tx).wait();
      const paid = receipt.logs.map((l) => settlement.interface.parseLog(l)).filter((e) => e && e.name === 'RevenuePaid');
      expect(paid.map((e) => e.args.assetId)).to.not.include(L[0]);
      expect(await settlement.earningsOf(provider2.address)).to.equal(5000n);
    });
  });

  describe('free trial', function () {
    it('does not charge a consumer\'s first freeUses units of an asset, across periods and grants', async function () {
      const f = await loadFixture(economyFixture);
      const { settlement, provider, consumer } = f;
      await setPaid(f, TRIAL, { priceModel: PriceModel.Prepaid, pricePerAccess: PRICE, freeUses: 3 });
      const { grantId } = await issue(f, paidRequest(f, TRIAL));
      expect((await settlement.accountOf(grantId)).freeUses).to.equal(3n);
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r1', 5);
      await expect(settleTx(f, { start, end, root, claims: [claim(grantId, 5)], splits: [split(TRIAL)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(grantId, TRIAL, consumer.address, start, end, 5, 3, 2n * PRICE, root);
      expect(await settlement.trialUsed(TRIAL, consumer.address)).to.equal(3n);
      expect(await settlement.earningsOf(provider.address)).to.equal(2n * PRICE);
      // the next period is charged in full
      await time.increase(60);
      const end2 = await time.latest();
      const root2 = await anchorReceipts(f, 'r2', 2);
      await expect(settleTx(f, { start: end, end: end2, root: root2, claims: [claim(grantId, 2)], splits: [split(TRIAL)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(grantId, TRIAL, consumer.address, end, end2, 2, 0, 2n * PRICE, root2);
      // and so is another grant of the same consumer
      const second = await issue(f, paidRequest(f, TRIAL, { nonce: 2, deadline: end2 + 3600 }));
      const end3 = await time.latest();
      const root3 = await anchorReceipts(f, 'r3', 1);
      await expect(settleTx(f, { start: end2, end: end3, root: root3, claims: [claim(second.grantId, 1)], splits: [split(TRIAL)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(second.grantId, TRIAL, consumer.address, end2, end3, 1, 0, PRICE, root3);
    });

    it('spreads the trial over periods; a fully free period pays nobody', async function () {
      const f = await loadFixture(economyFixture);
      const { settlement, consumer } = f;
      await setPaid(f, TRIAL, { priceModel: PriceModel.Prepaid, pricePerAccess: PRICE, freeUses: 3 });
      const { grantId } = await issue(f, paidRequest(f, TRIAL));
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r1', 2);
      const tx = settleTx(f, { start, end, root, claims: [claim(grantId, 2)], splits: [split(TRIAL)] });
      await expect(tx).to.emit(settlement, 'UsageSettled').withArgs(grantId, TRIAL, consumer.address, start, end, 2, 2, 0n, root);
      await expect(tx).to.not.emit(settlement, 'RevenuePaid');
      await time.increase(60);
      const end2 = await time.latest();
      const root2 = await anchorReceipts(f, 'r2', 3);
      await expect(settleTx(f, { start: end, end: end2, root: root2, claims: [claim(grantId, 3)], splits: [split(TRIAL)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(grantId, TRIAL, consumer.address, end, end2, 3, 1, 2n * PRICE, root2);
      expect((await settlement.accountOf(grantId)).locked).to.equal(70n - 2n * PRICE);
    });
  });

  describe('PayAfterUse', function () {
    async function payAfterUseFixture() {
      const f = await economyFixture();
      await setPaid(f, PAU, { priceModel: PriceModel.PayAfterUse, pricePerAccess: 5n, freeUses: 1 });
      const { grantId } = await issue(f, paidRequest(f, PAU, { pricePerAccess: 5n }));
      return { ...f, grantId };
    }

    it('settles against the consumer\'s signed UsageStatement, paid from its wallet', async function () {
      const f = await loadFixture(payAfterUseFixture);
      const { settlement, token, provider, consumer, grantId } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 4);
      // 4 units, the first free: 3 * 5 = 15
      const statement = { grantId, periodStart: start, periodEnd: end, units: 4, amount: 15n, receiptsRoot: root };
      expect(await settlement.hashStatement(grantId, start, end, 4, 15n, root)).to.equal(
        ethers.TypedDataEncoder.hash(await settlementDomainOf(settlement), USAGE_STATEMENT_TYPES, statement),
      );
      expect(await settlement.USAGE_STATEMENT_TYPEHASH()).to.equal(
        ethers.id(ethers.TypedDataEncoder.from(USAGE_STATEMENT_TYPES).encodeType('UsageStatement')),
      );
      const sig = await signStatement(settlement, consumer, statement);
      const tx = settleTx(f, { start, end, root, claims: [claim(grantId, 4, 0, sig)], splits: [split(PAU)] });
      await expect(tx).to.emit(settlement, 'UsageSettled').withArgs(grantId, PAU, consumer.address, start, end, 4, 1, 15n, root);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, PAU, provider.address, 15n, 0);
      await expect(tx).to.changeTokenBalances(token, [consumer, settlement], [-15n, 15n]);
      expect(await settlement.earningsOf(provider.address)).to.equal(15n);
      expect(await settlement.depositOf(consumer.address)).to.equal(100_000n); // the deposit is not touched
    });

    it('rejects a statement not signed by the consumer or over other terms (SettlementInvalidStatement)', async function () {
      const f = await loadFixture(payAfterUseFixture);
      const { settlement, consumer, consumerFR, provider, grantId } = f;
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 4);
      const good = { grantId, periodStart: start, periodEnd: end, units: 4, amount: 15n, receiptsRoot: root };
      const domain = await settlementDomainOf(settlement);
      const wrong = {
        'another signer': await signStatement(settlement, consumerFR, good),
        'the provider': await signStatement(settlement, provider, good),
        'another amount': await signStatement(settlement, consumer, { ...good, amount: 14n }),
        'more units': await signStatement(settlement, consumer, { ...good, units: 5 }),
        'another root': await signStatement(settlement, consumer, { ...good, receiptsRoot: h('x') }),
        'another domain': await consumer.signTypedData({ ...domain, name: 'TDS UsageGrants' }, USAGE_STATEMENT_TYPES, good),
        empty: '0x',
      };
      for (const [label, sig] of Object.entries(wrong)) {
        await expect(settleTx(f, { start, end, root, claims: [claim(grantId, 4, 0, sig)], splits: [split(PAU)] }), label)
          .to.be.revertedWithCustomError(settlement, 'SettlementInvalidStatement')
          .withArgs(grantId, consumer.address);
      }
    });

    it('fails when the consumer has not approved enough (ERC20InsufficientAllowance)', async function () {
      const f = await loadFixture(payAfterUseFixture);
      const { settlement, token, consumer, grantId } = f;
      await token.connect(consumer).approve(await settlement.getAddress(), 10n);
      const { start, end } = await firstPeriod(f);
      const root = await anchorReceipts(f, 'r', 4);
      const sig = await signStatement(settlement, consumer, { grantId, periodStart: start, periodEnd: end, units: 4, amount: 15n, receiptsRoot: root });
      await expect(settleTx(f, { start, end, root, claims: [claim(grantId, 4, 0, sig)], splits: [split(PAU)] }))
        .to.be.revertedWithCustomError(token, 'ERC20InsufficientAllowance')
        .withArgs(await settlement.getAddress(), 10n, 15n);
      expect((await settlement.accountOf(grantId)).settledUntil).to.equal(0n);
      expect(await settlement.trialUsed(PAU, consumer.address)).to.equal(0n);
    });
  });

  describe('Subscription', function () {
    async function subscriptionFixture() {
      const f = await economyFixture();
      await setPaid(f, SUB, { priceModel: PriceModel.Subscription, pricePerAccess: 100n, period: DAY });
      const { grantId, req } = await issue(f, paidRequest(f, SUB, { pricePerAccess: 100n, notAfter: f.now + 3 * DAY }));
      return { ...f, grantId, req };
    }

    it('charges the periods started by the period end, no receipts root needed', async function () {
      const f = await loadFixture(subscriptionFixture);
      const { settlement, provider, consumer, grantId } = f;
      expect((await settlement.accountOf(grantId)).locked).to.equal(300n);
      await time.increaseTo(f.now + DAY + DAY / 2);
      const end = f.now + DAY + DAY / 2;
      for (const units of [1, 3]) {
        await expect(settleTx(f, { start: f.now, end, claims: [claim(grantId, units)], splits: [split(SUB)] }))
          .to.be.revertedWithCustomError(settlement, 'SettlementUnitsInvalid')
          .withArgs(grantId, units, 2);
      }
      const tx = settleTx(f, { start: f.now, end, claims: [claim(grantId, 2)], splits: [split(SUB)] });
      await expect(tx)
        .to.emit(settlement, 'UsageSettled')
        .withArgs(grantId, SUB, consumer.address, f.now, end, 2, 0, 200n, ethers.ZeroHash);
      await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, SUB, provider.address, 200n, 0);
      expect((await settlement.accountOf(grantId)).locked).to.equal(100n);
      // after the grant's end: only the last period is due, then nothing
      await time.increaseTo(f.now + 5 * DAY);
      const end2 = f.now + 5 * DAY;
      await expect(settleTx(f, { start: end, end: end2, claims: [claim(grantId, 2)], splits: [split(SUB)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnitsInvalid')
        .withArgs(grantId, 2, 1);
      await expect(settleTx(f, { start: end, end: end2, claims: [claim(grantId, 1)], splits: [split(SUB)] }))
        .to.emit(settlement, 'UsageSettled')
        .withArgs(grantId, SUB, consumer.address, end, end2, 1, 0, 100n, ethers.ZeroHash);
      const a = await settlement.accountOf(grantId);
      expect([a.locked, a.units]).to.deep.equal([0n, 3n]);
      const end3 = await time.latest();
      await expect(settleTx(f, { start: end2, end: end3, claims: [claim(grantId, 1)], splits: [split(SUB)] }))
        .to.be.revertedWithCustomError(settlement, 'SettlementUnitsInvalid')
        .withArgs(grantId, 1, 0);
    });
  });
});
