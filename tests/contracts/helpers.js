// Shared fixtures for the TDS contract tests (no tests here).
'use strict';
const { ethers } = require('hardhat');
const { time } = require('@nomicfoundation/hardhat-network-helpers');

const ROLE_PROVIDER = 1;
const ROLE_CONSUMER = 2;
const ROLE_AUDITOR = 4;

const KIND_RECEIPTS = 1;
const KIND_ASSETS = 2;

/** Settlement constructor defaults used by every fixture. */
const CLAIM_WINDOW = 86400;
const ROYALTY_BPS = 1000;

// IUsageGrants.Liveness
const Liveness = { Live: 0n, Unknown: 1n, Revoked: 2n, NotYetValid: 3n, Expired: 4n };
// IUsageGrants.GrantStatus / IParticipantRegistry.Status
const GrantStatus = { None: 0n, Active: 1n, Revoked: 2n };
const Status = { None: 0n, Active: 1n, Suspended: 2n };
// IUsageGrants.PriceModel
const PriceModel = { Free: 0, Prepaid: 1, PayAfterUse: 2, Subscription: 3 };
// IDisputes.Subject / Status / Verdict
const Subject = { Grant: 0, Settlement: 1 };
const DisputeStatus = { None: 0n, Open: 1n, Ruled: 2n };
const Verdict = { Refused: 0, Upheld: 1, Refund: 2 };

const GRANT_REQUEST_TYPES = {
  GrantRequest: [
    { name: 'assetId', type: 'bytes32' },
    { name: 'consumer', type: 'address' },
    { name: 'purpose', type: 'string' },
    { name: 'notBefore', type: 'uint32' },
    { name: 'notAfter', type: 'uint32' },
    { name: 'maxCount', type: 'uint24' },
    { name: 'pricePerAccess', type: 'uint96' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint32' },
    { name: 'policyEpoch', type: 'uint32' },
  ],
};

const GRANT_ACCEPTANCE_TYPES = {
  GrantAcceptance: [
    { name: 'grantId', type: 'bytes32' },
    { name: 'provider', type: 'address' },
  ],
};

const USAGE_STATEMENT_TYPES = {
  UsageStatement: [
    { name: 'grantId', type: 'bytes32' },
    { name: 'periodStart', type: 'uint32' },
    { name: 'periodEnd', type: 'uint32' },
    { name: 'units', type: 'uint32' },
    { name: 'amount', type: 'uint256' },
    { name: 'receiptsRoot', type: 'bytes32' },
  ],
};

const jur = (code) => ethers.hexlify(ethers.toUtf8Bytes(code)); // "DE" -> 0x4445 (bytes2)
const h = (label) => ethers.id(label); // deterministic bytes32 from a label
const sha256 = (text) => ethers.sha256(ethers.toUtf8Bytes(text)); // content hash = asset id
const ownersHash = (owners, shares) =>
  ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['address[]', 'uint16[]'], [owners, shares]));
const parentsHash = (parents) => ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['bytes32[]'], [parents]));

/** The UsageGrants EIP-712 domain. */
async function domainOf(grants) {
  const { chainId } = await ethers.provider.getNetwork();
  return { name: 'TDS UsageGrants', version: '1', chainId, verifyingContract: await grants.getAddress() };
}

/** The Settlement EIP-712 domain (usage statements). */
async function settlementDomainOf(settlement) {
  const { chainId } = await ethers.provider.getNetwork();
  return { name: 'TDS Settlement', version: '1', chainId, verifyingContract: await settlement.getAddress() };
}

/** The consumer's EIP-712 signature over a GrantRequest. */
async function signGrant(grants, signer, request) {
  return signer.signTypedData(await domainOf(grants), GRANT_REQUEST_TYPES, request);
}

/** The grant id (EIP-712 digest of the request), computed off-chain. */
async function grantIdOf(grants, request) {
  return ethers.TypedDataEncoder.hash(await domainOf(grants), GRANT_REQUEST_TYPES, request);
}

/** The provider's EIP-712 acceptance of a grant: GrantAcceptance(grantId, provider). */
async function signAcceptance(grants, providerSigner, grantId) {
  return providerSigner.signTypedData(await domainOf(grants), GRANT_ACCEPTANCE_TYPES, {
    grantId,
    provider: providerSigner.address,
  });
}

/** The consumer's EIP-712 UsageStatement signature for a PayAfterUse period. */
async function signStatement(settlement, consumerSigner, statement) {
  return consumerSigner.signTypedData(await settlementDomainOf(settlement), USAGE_STATEMENT_TYPES, statement);
}

/** Both signatures for a request: the consumer's (sig) and the provider's acceptance, and the grant id. */
async function signBoth(f, req, { consumer, provider } = {}) {
  const c = consumer || f.consumer;
  const p = provider || f.provider;
  const grantId = await grantIdOf(f.grants, req);
  return { grantId, sig: await signGrant(f.grants, c, req), acceptance: await signAcceptance(f.grants, p, grantId) };
}

/**
 * Sign a request by the consumer and its acceptance by the provider, then issueGrant from the provider.
 * @returns {{grantId: string, req: object, sig: string, acceptance: string, receipt: object}}
 */
async function issue(f, req, { consumer, provider } = {}) {
  const p = provider || f.provider;
  const { grantId, sig, acceptance } = await signBoth(f, req, { consumer, provider: p });
  const receipt = await (await f.grants.connect(p).issueGrant(req, sig, acceptance)).wait();
  return { grantId, req, sig, acceptance, receipt };
}

/** A Policy struct (Free, no limits) with overrides. */
function policy(overrides = {}) {
  return {
    notBefore: 0,
    notAfter: 0,
    maxCount: 0,
    pricePerAccess: 0,
    computeOnly: false,
    autoApprove: true,
    anyPurpose: false, // ignored by setPolicy
    anyJurisdiction: false, // ignored by setPolicy
    epoch: 0, // ignored by setPolicy
    priceModel: PriceModel.Free,
    freeUses: 0,
    period: 0,
    ...overrides,
  };
}

/**
 * Deploy every contract in the DESIGN order with `tokenKind` 'settlement' (SettlementToken) or 'credits'
 * (CreditsToken, bound to Settlement); admin is the operator; nobody is onboarded.
 */
async function deployWith(tokenKind) {
  const [admin, provider, provider2, consumer, consumerFR, auditor, owner2, outsider, ...others] = await ethers.getSigners();
  const participants = await ethers.deployContract('ParticipantRegistry', [admin.address]);
  const pAddr = await participants.getAddress();
  const assets = await ethers.deployContract('AssetRegistry', [pAddr]);
  const aAddr = await assets.getAddress();
  const compute = await ethers.deployContract('ComputePolicies', [pAddr, aAddr]);
  const grants = await ethers.deployContract('UsageGrants', [pAddr, aAddr]);
  const anchors = await ethers.deployContract('AnchorRegistry', [pAddr, aAddr]);
  const token = tokenKind === 'credits'
    ? await ethers.deployContract('CreditsToken', [admin.address, pAddr])
    : await ethers.deployContract('SettlementToken', [admin.address]);
  const disputes = await ethers.deployContract('Disputes', [pAddr, await grants.getAddress(), aAddr]);
  const settlement = await ethers.deployContract('Settlement', [
    await token.getAddress(),
    pAddr,
    aAddr,
    await grants.getAddress(),
    await anchors.getAddress(),
    await disputes.getAddress(),
    CLAIM_WINDOW,
    ROYALTY_BPS,
  ]);
  const sAddr = await settlement.getAddress();
  await grants.bindSettlement(sAddr);
  await disputes.bindSettlement(sAddr);
  if (tokenKind === 'credits') await token.bindSettlement(sAddr);
  return { admin, provider, provider2, consumer, consumerFR, auditor, owner2, outsider, others,
    participants, assets, compute, grants, anchors, token, disputes, settlement };
}

/** Every contract deployed with the SettlementToken (18 decimals); nobody onboarded. */
async function deployFixture() {
  return deployWith('settlement');
}

/** Every contract deployed with a CreditsToken (0 decimals, members only) as the Settlement token. */
async function creditsDeployFixture() {
  return deployWith('credits');
}

async function onboardAll(f) {
  const { participants, provider, provider2, consumer, consumerFR, auditor } = f;
  await participants.onboard(provider.address, ROLE_PROVIDER, jur('DE'), h('vc:provider'));
  await participants.onboard(provider2.address, ROLE_PROVIDER | ROLE_CONSUMER, jur('NL'), h('vc:provider2'));
  await participants.onboard(consumer.address, ROLE_CONSUMER, jur('DE'), h('vc:consumer'));
  await participants.onboard(consumerFR.address, ROLE_CONSUMER, jur('FR'), h('vc:consumerFR'));
  await participants.onboard(auditor.address, ROLE_AUDITOR, jur('DE'), h('vc:auditor'));
  return f;
}

/** deployFixture + participants onboarded. */
async function onboardedFixture() {
  return onboardAll(await deployFixture());
}

/** creditsDeployFixture + participants onboarded. */
async function creditsOnboardedFixture() {
  return onboardAll(await creditsDeployFixture());
}

const ASSET_ID = sha256('weather-2024.csv');
const ASSET_URI = 'https://catalog.tds.example/assets/weather-2024/metadata.json';

/** onboardedFixture + one provider-owned asset with a Free policy (purposes research/ml, jurisdictions DE/NL). */
async function policyFixture() {
  const f = await onboardedFixture();
  const { assets, grants, provider } = f;
  await assets.connect(provider).registerAsset(ASSET_ID, 1234, h('meta'), ASSET_URI, [], [], []);
  const now = await time.latest();
  const pol = policy({ notBefore: now - 10, notAfter: now + 30 * 86400, maxCount: 100, pricePerAccess: 0 });
  await grants.connect(provider).setPolicy(ASSET_ID, pol, ['research', 'ml-training'], [jur('DE'), jur('NL')]);
  return { ...f, assetId: ASSET_ID, pol, now };
}

/** A request inside policyFixture's policy (policy epoch 1). */
function request(f, overrides = {}) {
  return {
    assetId: f.assetId,
    consumer: f.consumer.address,
    purpose: 'research',
    notBefore: f.now,
    notAfter: f.now + 7 * 86400,
    maxCount: 10,
    pricePerAccess: 0,
    nonce: 1,
    deadline: f.now + 3600,
    policyEpoch: 1,
    ...overrides,
  };
}

/** Mint `amount` to `who`, approve Settlement, and deposit `deposit` of it (default: all). */
async function fund(f, who, amount, deposit = amount) {
  const amt = BigInt(amount);
  await f.token.mint(who.address, amt);
  await f.token.connect(who).approve(await f.settlement.getAddress(), amt);
  if (BigInt(deposit) !== 0n) await f.settlement.connect(who).deposit(BigInt(deposit));
}

/** Anchor a receipts root (kind 1) with `leafCount` leaves from `signer` (default: the provider). */
async function anchorReceipts(f, label, leafCount, signer) {
  const root = h(`receipts:${label}`);
  await f.anchors.connect(signer || f.provider).anchorRoot(root, leafCount, KIND_RECEIPTS);
  return root;
}

/** A Split struct: owners/shares empty = provider-owned; parents are indices into the batch's splits. */
function split(assetId, owners = [], sharesBps = [], parents = []) {
  return { assetId, owners, sharesBps, parents };
}

/** A Claim struct. */
function claim(grantId, units, splitIndex = 0, statement = '0x') {
  return { grantId, units, split: splitIndex, statement };
}

const PRICE = 7n; // per use in the paid fixtures: 3 uses = 21; owner2's 30 % = 6 (6.3 floored), the first owner 15
const SOLO = sha256('provider-owned dataset');
const CO_OWNED = sha256('co-owned dataset');

/**
 * Register SOLO (provider-owned) and CO_OWNED (provider 70 %, owner2 30 %) with Prepaid policies at PRICE
 * (epoch 1), fund the consumer (mint 1,000,000, deposit 100,000; the rest stays approved for Settlement).
 */
async function setupEconomy(f) {
  const { assets, grants, provider, owner2 } = f;
  const owners = [provider.address, owner2.address];
  const shares = [7000, 3000];
  await assets.connect(provider).registerAsset(SOLO, 10, h('m'), 'ipfs://solo', [], [], []);
  await assets.connect(provider).registerAsset(CO_OWNED, 10, h('m'), 'ipfs://co', [], owners, shares);
  const pol = policy({ maxCount: 100, pricePerAccess: PRICE, priceModel: PriceModel.Prepaid });
  await grants.connect(provider).setPolicy(SOLO, pol, [], []);
  await grants.connect(provider).setPolicy(CO_OWNED, pol, [], []);
  await fund(f, f.consumer, 1_000_000n, 100_000n);
  const now = await time.latest();
  return Object.assign(f, { owners, shares, now });
}

/** onboardedFixture + setupEconomy. */
async function economyFixture() {
  return setupEconomy(await onboardedFixture());
}

/** A paid request (PRICE, maxCount 10, a 7-day window from f.now, epoch 1) for `assetId`. */
function paidRequest(f, assetId, overrides = {}) {
  return request({ ...f, assetId }, { pricePerAccess: PRICE, maxCount: 10, ...overrides });
}

module.exports = {
  PRICE, SOLO, CO_OWNED, setupEconomy, economyFixture, paidRequest,
  ROLE_PROVIDER, ROLE_CONSUMER, ROLE_AUDITOR, KIND_RECEIPTS, KIND_ASSETS, CLAIM_WINDOW, ROYALTY_BPS,
  Liveness, GrantStatus, Status, PriceModel, Subject, DisputeStatus, Verdict,
  GRANT_REQUEST_TYPES, GRANT_ACCEPTANCE_TYPES, USAGE_STATEMENT_TYPES, ASSET_ID, ASSET_URI,
  jur, h, sha256, ownersHash, parentsHash, domainOf, settlementDomainOf,
  signGrant, grantIdOf, signAcceptance, signStatement, signBoth, issue, policy, request,
  fund, anchorReceipts, split, claim,
  deployFixture, creditsDeployFixture, onboardedFixture, creditsOnboardedFixture, policyFixture,
};
