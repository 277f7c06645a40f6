'use strict';
// Prints the gas used by the hot-path transactions; asserts only generous sanity bounds (anchorRoot <= 60,000 gas).
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const {
  ROLE_CONSUMER, KIND_RECEIPTS, ASSET_URI, PRICE, SOLO, Subject, Verdict, jur, h, sha256, policy, request, paidRequest,
  signBoth, anchorReceipts, split, claim, onboardedFixture, economyFixture,
} = require('./helpers');

const gasOf = async (txPromise) => (await (await txPromise).wait()).gasUsed;

/** Print a gas table under a title. */
function report(title, gas) {
  const width = Math.max(...Object.keys(gas).map((k) => k.length));
  console.log(`\n      ${title}:`);
  for (const [k, v] of Object.entries(gas)) console.log(`        ${k.padEnd(width)}  ${v.toString().padStart(8)}`);
}

/** issueGrant from the provider with fresh signatures; returns [gasUsed, grantId]. */
async function issueGas(f, req) {
  const { grantId, sig, acceptance } = await signBoth(f, req);
  return [await gasOf(f.grants.connect(f.provider).issueGrant(req, sig, acceptance)), grantId];
}

describe('Gas report', function () {
  it('prints gas for onboard, registerAsset, issueGrant, revokeGrant, anchorRoot (provider, notary key)', async function () {
    const gas = {};
    const f = await loadFixture(onboardedFixture);
    const { participants, assets, grants, anchors, provider } = f;
    gas['onboard'] = await gasOf(
      participants.onboard(ethers.Wallet.createRandom().address, ROLE_CONSUMER, jur('FR'), h('vc:x')),
    );
    expect(ASSET_URI.length).to.be.within(55, 65);
    const assetId = sha256('gas asset');
    gas[`registerAsset (no owners, no parents, ${ASSET_URI.length}-char URI)`] = await gasOf(
      assets.connect(provider).registerAsset(assetId, 1_000_000, h('meta'), ASSET_URI, [], [], []),
    );
    await grants.connect(provider).setPolicy(assetId, policy({ maxCount: 100 }), [], []);
    const now = await time.latest();
    const req = request({ ...f, assetId, now }, { pricePerAccess: 0 });
    [gas['issueGrant (free, price 0, open policy)']] = await issueGas(f, req);
    gas['revokeGrant'] = await gasOf(grants.connect(provider).revokeGrant(req));
    gas['anchorRoot'] = await gasOf(anchors.connect(provider).anchorRoot(h('root'), 1000, KIND_RECEIPTS));
    const algorithmId = sha256('gas algorithm');
    await assets.connect(provider).registerAsset(algorithmId, 1000, h('algo'), ASSET_URI, [], [], []);
    gas['setAlgorithmApproval'] = await gasOf(f.compute.connect(provider).setAlgorithmApproval(assetId, algorithmId, true));
    gas['setPrivacyBudget'] = await gasOf(f.compute.connect(provider).setPrivacyBudget(assetId, 1_000_000));
    const notary = ethers.Wallet.createRandom().connect(ethers.provider);
    await provider.sendTransaction({ to: notary.address, value: ethers.parseEther('1') });
    await anchors.connect(provider).registerNotary(notary.address);
    gas['anchorRoot (by a notary key)'] = await gasOf(anchors.connect(notary).anchorRoot(h('root2'), 1000, KIND_RECEIPTS));

    report('gas used (solc 0.8.37, optimizer 200 runs, cancun)', gas);
    for (const v of Object.values(gas)) expect(v).to.be.greaterThan(21000n);
    // anchoring stays cheap: one slot per (provider, root), whoever sends it
    expect(gas['anchorRoot']).to.be.at.most(60000n);
    expect(gas['anchorRoot (by a notary key)']).to.be.at.most(60000n);
  });

  it('prints gas for escrow, settlement (per owner, per grant in a batch) and disputes', async function () {
    this.timeout(120000);
    const gas = {};
    const f = await loadFixture(economyFixture);
    const { assets, grants, settlement, disputes, provider, owner2, others, admin, consumer } = f;
    let nonce = 0;
    const next = (assetId, overrides = {}) => paidRequest(f, assetId, { nonce: ++nonce, deadline: f.now + 30 * 86400, ...overrides });

    // issueGrant: the same request shape on a Free and on a Prepaid policy
    const FREE = sha256('gas free asset');
    await assets.connect(provider).registerAsset(FREE, 1, h('m'), '', [], [], []);
    await grants.connect(provider).setPolicy(FREE, policy({ maxCount: 100 }), [], []);
    const [free] = await issueGas(f, next(FREE, { pricePerAccess: 0 }));
    const [prepaid, g1] = await issueGas(f, next(SOLO));
    gas['issueGrant free'] = free;
    gas['issueGrant prepaid (locks maxCount * price)'] = prepaid;
    gas['  gas_lock = prepaid - free'] = prepaid - free;

    // settle one grant with one owner (the provider)
    await time.increase(3600);
    let start = f.now;
    let end = await time.latest();
    const once = async (label, claims, splits) => {
      const root = await anchorReceipts(f, `${label}:${end}`, claims.reduce((n, c) => n + c.units, 0));
      return gasOf(settlement.connect(provider).settle(start, end, root, claims, splits));
    };
    gas['settle 1 grant, 1 owner, first earnings of the owner'] = await once('first', [claim(g1, 3)], [split(SOLO)]);
    const [, g2] = await issueGas(f, next(SOLO));
    gas['settle 1 grant, 1 owner, steady (owner has earnings)'] = await once('steady', [claim(g2, 3)], [split(SOLO)]);
    await time.increase(60);
    [start, end] = [end, await time.latest()];
    gas['settle 1 grant, 1 owner, steady, the grant\'s next period'] = await once('again', [claim(g1, 2)], [split(SOLO)]);

    // per extra owner (steady state: every owner already has earnings; the grant's first period)
    const ownerSets = [
      [[provider.address], [10000]],
      [[provider.address, owner2.address], [5000, 5000]],
      [[provider.address, owner2.address, others[0].address], [4000, 3000, 3000]],
    ];
    const byOwners = [];
    for (const [i, [owners, shares]] of ownerSets.entries()) {
      const A = sha256(`gas owners ${i}`);
      await assets.connect(provider).registerAsset(A, 1, h('m'), '', [], owners, shares);
      await grants.connect(provider).setPolicy(A, policy({ maxCount: 100, pricePerAccess: PRICE, priceModel: 1 }), [], []);
      const [, prime] = await issueGas(f, next(A));
      const [, measured] = await issueGas(f, next(A));
      await once(`prime${i}`, [claim(prime, 3)], [split(A, owners, shares)]);
      byOwners.push(await once(`owners${i}`, [claim(measured, 3)], [split(A, owners, shares)]));
      gas[`settle 1 grant, ${owners.length} owner(s) by shares, steady`] = byOwners[i];
    }
    gas['  per extra owner'] = (byOwners[2] - byOwners[0]) / 2n;

    // a batch of 50 grants of one asset in one settle (steady: the provider has earnings)
    const batch = [];
    for (let i = 0; i < 50; i++) batch.push((await issueGas(f, next(SOLO)))[1]);
    await time.increase(60);
    [start, end] = [end, await time.latest()];
    const one = await once('batch1', [claim(batch[0], 1)], [split(SOLO)]);
    await time.increase(60);
    [start, end] = [end, await time.latest()];
    const fifty = await once('batch50', batch.map((id) => claim(id, 1)), [split(SOLO)]);
    gas['settle 50 grants in one batch'] = fifty;
    gas['  per grant (total / 50)'] = fifty / 50n;
    gas['  marginal per grant ((50 - 1) / 49)'] = (fifty - one) / 49n;

    // disputes
    const dreq = next(SOLO);
    await issueGas(f, dreq);
    gas['dispute open (freezes the account)'] = await gasOf(
      disputes.connect(consumer).open(dreq, Subject.Grant, 0, h('evidence'), 'ipfs://evidence'),
    );
    gas['dispute rule (refund from the lock, unfreeze)'] = await gasOf(disputes.connect(admin).rule(1, Verdict.Refund, 10n));
    await disputes.connect(consumer).open(dreq, Subject.Grant, 0, h('evidence 2'), 'ipfs://evidence-2');
    gas['dispute rule (upheld, unfreeze)'] = await gasOf(disputes.connect(admin).rule(2, Verdict.Upheld, 0));

    report('gas used by the value loop (solc 0.8.37, optimizer 200 runs, cancun)', gas);
    for (const [k, v] of Object.entries(gas)) {
      if (!k.startsWith('  ')) expect(v, k).to.be.within(21000n, 2_000_000n);
    }
    expect(gas['  gas_lock = prepaid - free']).to.be.within(1n, 200_000n);
    expect(gas['  per grant (total / 50)']).to.be.below(100_000n);
    expect(gas['settle 50 grants in one batch']).to.be.below(5_000_000n);
  });
});
