'use strict';
// Prints the gas used by the hot-path transactions; asserts only that anchorRoot stays <= 60,000 gas.
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture } = require('@nomicfoundation/hardhat-network-helpers');
const {
  ROLE_CONSUMER, KIND_RECEIPTS, ASSET_URI, jur, h, sha256, policy, request, signGrant, onboardedFixture,
} = require('./helpers');

const gasOf = async (txPromise) => (await (await txPromise).wait()).gasUsed;

describe('Gas report', function () {
  it('prints gas for onboard, registerAsset, issueGrant, revokeGrant, anchorRoot (provider, notary key)', async function () {
    const gas = {};
    const { participants, assets, grants, anchors, provider, consumer } = await loadFixture(onboardedFixture);
    gas['onboard'] = await gasOf(
      participants.onboard(ethers.Wallet.createRandom().address, ROLE_CONSUMER, jur('FR'), h('vc:x')),
    );
    expect(ASSET_URI.length).to.be.within(55, 65);
    const assetId = sha256('gas asset');
    gas[`registerAsset (no owners, no parents, ${ASSET_URI.length}-char URI)`] = await gasOf(
      assets.connect(provider).registerAsset(assetId, 1_000_000, h('meta'), ASSET_URI, [], [], []),
    );
    await grants.connect(provider).setPolicy(assetId, policy({ maxCount: 100 }), [], []);
    const now = (await ethers.provider.getBlock('latest')).timestamp;
    const req = request({ assetId, consumer, now }, { pricePerAccess: 0 });
    const sig = await signGrant(grants, consumer, req);
    gas['issueGrant (free, price 0, open policy)'] = await gasOf(grants.connect(provider).issueGrant(req, sig));
    gas['revokeGrant'] = await gasOf(grants.connect(provider).revokeGrant(req));
    gas['anchorRoot'] = await gasOf(anchors.connect(provider).anchorRoot(h('root'), 1000, KIND_RECEIPTS));
    const notary = ethers.Wallet.createRandom().connect(ethers.provider);
    await provider.sendTransaction({ to: notary.address, value: ethers.parseEther('1') });
    await anchors.connect(provider).registerNotary(notary.address);
    gas['anchorRoot (by a notary key)'] = await gasOf(anchors.connect(notary).anchorRoot(h('root2'), 1000, KIND_RECEIPTS));

    const width = Math.max(...Object.keys(gas).map((k) => k.length));
    console.log('\n      gas used (solc 0.8.37, optimizer 200 runs, cancun):');
    for (const [k, v] of Object.entries(gas)) {
      console.log(`        ${k.padEnd(width)}  ${v.toString().padStart(7)}`);
      expect(v).to.be.greaterThan(21000n);
    }
    // anchoring stays cheap: one slot per (provider, root), whoever sends it
    expect(gas['anchorRoot']).to.be.at.most(60000n);
    expect(gas['anchorRoot (by a notary key)']).to.be.at.most(60000n);
  });
});
