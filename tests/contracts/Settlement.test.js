'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture } = require('@nomicfoundation/hardhat-network-helpers');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { KIND_RECEIPTS, h, sha256, policy, request, signGrant, onboardedFixture } = require('./helpers');

const PRICE = 7n; // 7 per access: 3 accesses = 21; 30 % = 6.3 -> 6; the first owner gets 21 - 6 = 15
const MAX_COUNT = 10;
const CO_OWNED = sha256('co-owned dataset');
const SOLO = sha256('provider-owned dataset');

async function issue(f, assetId, overrides = {}) {
  const req = request({ ...f, assetId }, { pricePerAccess: PRICE, maxCount: MAX_COUNT, ...overrides });
  const id = await f.grants.hashGrantRequest(req);
  await f.grants.connect(f.provider).issueGrant(req, await signGrant(f.grants, f.consumer, req));
  return { id, req };
}

/** Co-owned asset (provider 70 %, owner2 30 %) and a provider-owned one, priced grants, funded consumer. */
async function settlementFixture() {
  const f = await onboardedFixture();
  const { assets, grants, token, settlement, provider, owner2, consumer } = f;
  const owners = [provider.address, owner2.address];
  const shares = [7000, 3000];
  await assets.connect(provider).registerAsset(CO_OWNED, 10, h('m'), 'ipfs://co', [], owners, shares);
  await assets.connect(provider).registerAsset(SOLO, 10, h('m'), 'ipfs://solo', [], [], []);
  const pol = policy({ maxCount: 100, pricePerAccess: PRICE });
  await grants.connect(provider).setPolicy(CO_OWNED, pol, [], []);
  await grants.connect(provider).setPolicy(SOLO, pol, [], []);
  const now = (await ethers.provider.getBlock('latest')).timestamp;
  const g = { ...f, now };
  const { id: grantId, req: grantReq } = await issue(g, CO_OWNED);
  const { id: soloGrantId, req: soloReq } = await issue(g, SOLO);
  await token.mint(consumer.address, 1000n);
  await token.connect(consumer).approve(await settlement.getAddress(), 1000n);
  return { ...g, owners, shares, grantId, grantReq, soloGrantId, soloReq };
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

describe('Settlement', function () {
  it('pays the owners by shares, rounding dust to the first owner', async function () {
    const { settlement, token, provider, owner2, consumer, owners, shares, grantId, grantReq } = await loadFixture(settlementFixture);
    const tx = settlement.connect(provider).settle(grantReq, 3, ethers.ZeroHash, owners, shares);
    // 3 * 7 = 21; owner2: 21 * 3000 / 10000 = 6 (6.3 floored); provider: 21 - 6 = 15 (14.7 + dust)
    await expect(tx)
      .to.emit(settlement, 'UsageSettled')
      .withArgs(grantId, CO_OWNED, consumer.address, 3, 21n, ethers.ZeroHash);
    await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, owner2.address, 6n);
    await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(grantId, provider.address, 15n);
    await expect(tx).to.changeTokenBalances(token, [consumer, provider, owner2], [-21n, 15n, 6n]);
    expect(await settlement.settledCount(grantId)).to.equal(3n);
  });

  it('splits exactly when there is no dust', async function () {
    const { settlement, token, provider, owner2, consumer, owners, shares, grantId, grantReq } = await loadFixture(settlementFixture);
    // 10 * 7 = 70 -> 49 / 21
    await expect(settlement.connect(provider).settle(grantReq, 10, ethers.ZeroHash, owners, shares))
      .to.changeTokenBalances(token, [consumer, provider, owner2], [-70n, 49n, 21n]);
  });

  it('pays the provider everything for a provider-owned asset', async function () {
    const { settlement, token, provider, consumer, soloGrantId, soloReq } = await loadFixture(settlementFixture);
    const tx = settlement.connect(provider).settle(soloReq, 4, ethers.ZeroHash, [], []);
    await expect(tx).to.emit(settlement, 'RevenuePaid').withArgs(soloGrantId, provider.address, 28n);
    await expect(tx).to.changeTokenBalances(token, [consumer, provider], [-28n, 28n]);
  });

  it('settles a free grant without any transfer', async function () {
    const f = await loadFixture(settlementFixture);
    const { settlement, grants, token, provider, consumer } = f;
    await grants.connect(provider).setPolicy(SOLO, policy(), [], []);
    const { id: freeId, req: freeReq } = await issue(f, SOLO, { pricePerAccess: 0, nonce: 99 });
    const tx = settlement.connect(provider).settle(freeReq, 5, ethers.ZeroHash, [], []);
    await expect(tx).to.emit(settlement, 'UsageSettled').withArgs(freeId, SOLO, consumer.address, 5, 0n, ethers.ZeroHash);
    await expect(tx).to.not.emit(settlement, 'RevenuePaid');
    await expect(tx).to.not.emit(token, 'Transfer');
    expect(await settlement.settledCount(freeId)).to.equal(5n);
  });

  it('accepts a usage root the provider anchored, rejects one it did not (SettlementRootNotAnchored)', async function () {
    const { settlement, anchors, provider, provider2, consumer, owners, shares, grantId, grantReq } =
      await loadFixture(settlementFixture);
    const tree = StandardMerkleTree.of(
      [0, 1, 2].map((i) => [grantId, consumer.address, BigInt(i)]),
      ['bytes32', 'address', 'uint256'],
    );
    await expect(settlement.connect(provider).settle(grantReq, 3, tree.root, owners, shares))
      .to.be.revertedWithCustomError(settlement, 'SettlementRootNotAnchored')
      .withArgs(tree.root);
    await anchors.connect(provider2).anchorRoot(tree.root, 3, KIND_RECEIPTS); // another provider's anchor
    await expect(settlement.connect(provider).settle(grantReq, 3, tree.root, owners, shares))
      .to.be.revertedWithCustomError(settlement, 'SettlementRootNotAnchored')
      .withArgs(tree.root);
    await anchors.connect(provider).anchorRoot(tree.root, 3, KIND_RECEIPTS);
    await expect(settlement.connect(provider).settle(grantReq, 3, tree.root, owners, shares))
      .to.emit(settlement, 'UsageSettled')
      .withArgs(grantId, CO_OWNED, consumer.address, 3, 21n, tree.root);
  });

  it('rejects a cumulative count above the grant maxCount (SettlementCountExceeded)', async function () {
    const { settlement, provider, owners, shares, grantId, grantReq } = await loadFixture(settlementFixture);
    await expect(settlement.connect(provider).settle(grantReq, MAX_COUNT + 1, ethers.ZeroHash, owners, shares))
      .to.be.revertedWithCustomError(settlement, 'SettlementCountExceeded')
      .withArgs(grantId, MAX_COUNT + 1, MAX_COUNT);
    await settlement.connect(provider).settle(grantReq, 6, ethers.ZeroHash, owners, shares);
    await expect(settlement.connect(provider).settle(grantReq, 5, ethers.ZeroHash, owners, shares))
      .to.be.revertedWithCustomError(settlement, 'SettlementCountExceeded')
      .withArgs(grantId, 11, MAX_COUNT);
    await settlement.connect(provider).settle(grantReq, 4, ethers.ZeroHash, owners, shares);
    expect(await settlement.settledCount(grantId)).to.equal(BigInt(MAX_COUNT));
    await expect(settlement.connect(provider).settle(grantReq, 1, ethers.ZeroHash, owners, shares))
      .to.be.revertedWithCustomError(settlement, 'SettlementCountExceeded')
      .withArgs(grantId, MAX_COUNT + 1, MAX_COUNT);
  });

  it('rejects a zero count (SettlementZeroCount)', async function () {
    const { settlement, provider, owners, shares, grantId, grantReq } = await loadFixture(settlementFixture);
    await expect(settlement.connect(provider).settle(grantReq, 0, ethers.ZeroHash, owners, shares))
      .to.be.revertedWithCustomError(settlement, 'SettlementZeroCount')
      .withArgs(grantId);
  });

  it('rejects owners other than the registered ones (AssetOwnersMismatch)', async function () {
    const { settlement, assets, provider, owner2, outsider, grantId, grantReq, soloGrantId, soloReq } = await loadFixture(settlementFixture);
    const bad = [
      [[provider.address, owner2.address], [3000, 7000]],
      [[owner2.address, provider.address], [7000, 3000]],
      [[provider.address, outsider.address], [7000, 3000]],
      [[provider.address], [10000]],
      [[], []],
    ];
    for (const [o, s] of bad) {
      await expect(settlement.connect(provider).settle(grantReq, 1, ethers.ZeroHash, o, s))
        .to.be.revertedWithCustomError(assets, 'AssetOwnersMismatch')
        .withArgs(CO_OWNED);
    }
    await expect(settlement.connect(provider).settle(soloReq, 1, ethers.ZeroHash, [outsider.address], [10000]))
      .to.be.revertedWithCustomError(assets, 'AssetOwnersMismatch')
      .withArgs(SOLO);
  });

  it('rejects anyone but the asset provider (SettlementNotProvider)', async function () {
    const { settlement, provider2, consumer, owner2, owners, shares, grantId, grantReq } = await loadFixture(settlementFixture);
    for (const who of [provider2, consumer, owner2]) {
      await expect(settlement.connect(who).settle(grantReq, 1, ethers.ZeroHash, owners, shares))
        .to.be.revertedWithCustomError(settlement, 'SettlementNotProvider')
        .withArgs(grantId, who.address);
    }
  });

  it('rejects an unknown grant (GrantUnknown) and a suspended provider', async function () {
    const { settlement, grants, participants, provider, owners, shares, grantId, grantReq } = await loadFixture(settlementFixture);
    // a request never issued, or an issued one with a lower price / higher count: unknown grant
    for (const change of [{ nonce: 12345 }, { pricePerAccess: 1n }, { maxCount: 100 }]) {
      const r = { ...grantReq, ...change };
      await expect(settlement.connect(provider).settle(r, 1, ethers.ZeroHash, owners, shares))
        .to.be.revertedWithCustomError(grants, 'GrantUnknown')
        .withArgs(await grants.hashGrantRequest(r));
    }
    await participants.suspend(provider.address);
    await expect(settlement.connect(provider).settle(grantReq, 1, ethers.ZeroHash, owners, shares))
      .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
      .withArgs(provider.address);
  });

  it('still settles a revoked or expired grant (usage before revocation/expiry stays billable)', async function () {
    const { settlement, grants, token, provider, consumer, owner2, owners, shares, grantReq, grantId } =
      await loadFixture(settlementFixture);
    await grants.connect(provider).revokeGrant(grantReq);
    await expect(settlement.connect(provider).settle(grantReq, 2, ethers.ZeroHash, owners, shares))
      .to.changeTokenBalances(token, [consumer, provider, owner2], [-14n, 10n, 4n]);
    expect(await settlement.settledCount(grantId)).to.equal(2n);
  });

  it('fails when the consumer has not approved enough (ERC20InsufficientAllowance)', async function () {
    const { settlement, token, provider, consumer, owners, shares, grantId, grantReq } = await loadFixture(settlementFixture);
    await token.connect(consumer).approve(await settlement.getAddress(), 5n);
    // the first transfer is owner2's 6
    await expect(settlement.connect(provider).settle(grantReq, 3, ethers.ZeroHash, owners, shares))
      .to.be.revertedWithCustomError(token, 'ERC20InsufficientAllowance')
      .withArgs(await settlement.getAddress(), 5n, 6n);
    expect(await settlement.settledCount(grantId)).to.equal(0n);
  });
});
