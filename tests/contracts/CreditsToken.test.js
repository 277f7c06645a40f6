'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const {
  SOLO, CO_OWNED, paidRequest, issue, anchorReceipts, split, claim, setupEconomy, creditsOnboardedFixture,
} = require('./helpers');

/** The credits deployment + SOLO/CO_OWNED Prepaid at 7 credits + the consumer holding 1,000,000 (100,000 deposited). */
async function creditsEconomyFixture() {
  return setupEconomy(await creditsOnboardedFixture());
}

describe('CreditsToken', function () {
  it('is a whole-point token owned by the operator and bound to Settlement', async function () {
    const { token, settlement, admin } = await loadFixture(creditsOnboardedFixture);
    expect(await token.name()).to.equal('TDS Credits');
    expect(await token.symbol()).to.equal('TDSC');
    expect(await token.decimals()).to.equal(0n);
    expect(await token.owner()).to.equal(admin.address);
    expect(await token.settlement()).to.equal(await settlement.getAddress());
    expect(await settlement.token()).to.equal(await token.getAddress());
  });

  it('mints to members only (CreditsNotMember), by the owner only', async function () {
    const { token, consumer, outsider, owner2 } = await loadFixture(creditsOnboardedFixture);
    await expect(token.mint(consumer.address, 10n)).to.emit(token, 'Transfer').withArgs(ethers.ZeroAddress, consumer.address, 10n);
    for (const who of [outsider, owner2]) {
      await expect(token.mint(who.address, 1n)).to.be.revertedWithCustomError(token, 'CreditsNotMember').withArgs(who.address);
    }
    await expect(token.connect(consumer).mint(consumer.address, 1n))
      .to.be.revertedWithCustomError(token, 'OwnableUnauthorizedAccount')
      .withArgs(consumer.address);
  });

  it('moves between members; not to or from non-members or suspended participants', async function () {
    const { token, participants, consumer, provider, outsider } = await loadFixture(creditsOnboardedFixture);
    await token.mint(consumer.address, 10n);
    await expect(token.connect(consumer).transfer(provider.address, 4n)).to.changeTokenBalances(token, [consumer, provider], [-4n, 4n]);
    await expect(token.connect(consumer).transfer(outsider.address, 1n))
      .to.be.revertedWithCustomError(token, 'CreditsNotMember')
      .withArgs(outsider.address);
    // approve is not a move: the outsider may hold an allowance, but not pull credits to itself
    await token.connect(consumer).approve(outsider.address, 2n);
    await expect(token.connect(outsider).transferFrom(consumer.address, outsider.address, 1n))
      .to.be.revertedWithCustomError(token, 'CreditsNotMember')
      .withArgs(outsider.address);
    await participants.suspend(consumer.address);
    await expect(token.connect(consumer).transfer(provider.address, 1n))
      .to.be.revertedWithCustomError(token, 'CreditsNotMember')
      .withArgs(consumer.address);
    await expect(token.connect(provider).transfer(consumer.address, 1n))
      .to.be.revertedWithCustomError(token, 'CreditsNotMember')
      .withArgs(consumer.address);
    await participants.reinstate(consumer.address);
    await expect(token.connect(provider).transfer(consumer.address, 1n)).to.changeTokenBalance(token, consumer, 1n);
  });

  it('binds Settlement once (CreditsSettlementBound), by the owner only', async function () {
    const { token, participants, admin, outsider } = await loadFixture(creditsOnboardedFixture);
    await expect(token.bindSettlement(outsider.address)).to.be.revertedWithCustomError(token, 'CreditsSettlementBound');
    const fresh = await ethers.deployContract('CreditsToken', [admin.address, await participants.getAddress()]);
    expect(await fresh.settlement()).to.equal(ethers.ZeroAddress);
    await expect(fresh.connect(outsider).bindSettlement(outsider.address))
      .to.be.revertedWithCustomError(fresh, 'OwnableUnauthorizedAccount')
      .withArgs(outsider.address);
    await expect(fresh.bindSettlement(ethers.ZeroAddress)).to.be.revertedWithCustomError(fresh, 'CreditsSettlementBound');
    await fresh.bindSettlement(outsider.address);
    expect(await fresh.settlement()).to.equal(outsider.address);
  });

  it('runs the full Prepaid flow in credits: deposit, lock, settle, withdraw, release', async function () {
    const f = await loadFixture(creditsEconomyFixture);
    const { token, settlement, grants, provider, consumer } = f;
    expect(await token.balanceOf(await settlement.getAddress())).to.equal(100_000n);
    const { grantId, req } = await issue(f, paidRequest(f, SOLO));
    expect((await settlement.accountOf(grantId)).locked).to.equal(70n);
    await time.increase(3600);
    const end = await time.latest();
    const root = await anchorReceipts(f, 'credits', 5);
    await expect(settlement.connect(provider).settle(f.now, end, root, [claim(grantId, 5)], [split(SOLO)]))
      .to.emit(settlement, 'RevenuePaid')
      .withArgs(grantId, SOLO, provider.address, 35n, 0);
    await expect(settlement.connect(provider).withdraw(35n)).to.changeTokenBalances(token, [provider, settlement], [35n, -35n]);
    await grants.connect(provider).revokeGrant(req);
    await expect(settlement.connect(provider).release(grantId))
      .to.emit(settlement, 'EscrowReleased')
      .withArgs(grantId, consumer.address, 35n, provider.address);
    const free = 100_000n - 35n;
    expect(await settlement.depositOf(consumer.address)).to.equal(free);
    await expect(settlement.connect(consumer).withdrawDeposit(free)).to.changeTokenBalance(token, consumer, free);
    expect(await token.balanceOf(await settlement.getAddress())).to.equal(0n);
  });

  it('keeps credits with members: a non-member co-owner cannot withdraw, a suspended consumer cannot deposit', async function () {
    const f = await loadFixture(creditsEconomyFixture);
    const { token, settlement, participants, provider, consumer, owner2, owners, shares } = f;
    const { grantId } = await issue(f, paidRequest(f, CO_OWNED));
    await time.increase(3600);
    const end = await time.latest();
    const root = await anchorReceipts(f, 'co', 3);
    await settlement.connect(provider).settle(f.now, end, root, [claim(grantId, 3)], [split(CO_OWNED, owners, shares)]);
    expect(await settlement.earningsOf(owner2.address)).to.equal(6n);
    // owner2 was never onboarded: its earnings stay in Settlement
    await expect(settlement.connect(owner2).withdraw(6n)).to.be.revertedWithCustomError(token, 'CreditsNotMember').withArgs(owner2.address);
    await participants.suspend(consumer.address);
    await expect(settlement.connect(consumer).deposit(1n)).to.be.revertedWithCustomError(token, 'CreditsNotMember').withArgs(consumer.address);
    await expect(settlement.connect(consumer).withdrawDeposit(1n))
      .to.be.revertedWithCustomError(token, 'CreditsNotMember')
      .withArgs(consumer.address);
  });
});
