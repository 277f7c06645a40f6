// Shared fixtures for the TDS contract tests (no tests here).
'use strict';
const { ethers } = require('hardhat');
const { time } = require('@nomicfoundation/hardhat-network-helpers');

const ROLE_PROVIDER = 1;
const ROLE_CONSUMER = 2;
const ROLE_AUDITOR = 4;

const KIND_RECEIPTS = 1;
const KIND_ASSETS = 2;

// IUsageGrants.Liveness
const Liveness = { Live: 0n, Unknown: 1n, Revoked: 2n, NotYetValid: 3n, Expired: 4n };
// IUsageGrants.GrantStatus / IParticipantRegistry.Status
const GrantStatus = { None: 0n, Active: 1n, Revoked: 2n };
const Status = { None: 0n, Active: 1n, Suspended: 2n };

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
  ],
};

const jur = (code) => ethers.hexlify(ethers.toUtf8Bytes(code)); // "DE" -> 0x4445 (bytes2)
const h = (label) => ethers.id(label); // deterministic bytes32 from a label
const sha256 = (text) => ethers.sha256(ethers.toUtf8Bytes(text)); // content hash = asset id
const ownersHash = (owners, shares) =>
  ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['address[]', 'uint16[]'], [owners, shares]));

async function domainOf(grants) {
  const { chainId } = await ethers.provider.getNetwork();
  return { name: 'TDS UsageGrants', version: '1', chainId, verifyingContract: await grants.getAddress() };
}

async function signGrant(grants, signer, request) {
  return signer.signTypedData(await domainOf(grants), GRANT_REQUEST_TYPES, request);
}

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
    ...overrides,
  };
}

/** Every contract deployed; admin is the operator; participants onboarded. */
async function deployFixture() {
  const [admin, provider, provider2, consumer, consumerFR, auditor, owner2, outsider] = await ethers.getSigners();
  const participants = await ethers.deployContract('ParticipantRegistry', [admin.address]);
  const assets = await ethers.deployContract('AssetRegistry', [await participants.getAddress()]);
  const grants = await ethers.deployContract('UsageGrants', [
    await participants.getAddress(),
    await assets.getAddress(),
  ]);
  const anchors = await ethers.deployContract('AnchorRegistry', [
    await participants.getAddress(),
    await assets.getAddress(),
  ]);
  const token = await ethers.deployContract('SettlementToken', [admin.address]);
  const settlement = await ethers.deployContract('Settlement', [
    await token.getAddress(),
    await participants.getAddress(),
    await assets.getAddress(),
    await grants.getAddress(),
    await anchors.getAddress(),
  ]);
  return { admin, provider, provider2, consumer, consumerFR, auditor, owner2, outsider,
    participants, assets, grants, anchors, token, settlement };
}

/** deployFixture + participants onboarded. */
async function onboardedFixture() {
  const f = await deployFixture();
  const { participants, provider, provider2, consumer, consumerFR, auditor } = f;
  await participants.onboard(provider.address, ROLE_PROVIDER, jur('DE'), h('vc:provider'));
  await participants.onboard(provider2.address, ROLE_PROVIDER | ROLE_CONSUMER, jur('NL'), h('vc:provider2'));
  await participants.onboard(consumer.address, ROLE_CONSUMER, jur('DE'), h('vc:consumer'));
  await participants.onboard(consumerFR.address, ROLE_CONSUMER, jur('FR'), h('vc:consumerFR'));
  await participants.onboard(auditor.address, ROLE_AUDITOR, jur('DE'), h('vc:auditor'));
  return f;
}

const ASSET_ID = sha256('weather-2024.csv');
const ASSET_URI = 'https://catalog.tds.example/assets/weather-2024/metadata.json';

/** onboardedFixture + one provider-owned asset with a policy (purposes research/ml, jurisdictions DE/NL). */
async function policyFixture() {
  const f = await onboardedFixture();
  const { assets, grants, provider } = f;
  await assets.connect(provider).registerAsset(ASSET_ID, 1234, h('meta'), ASSET_URI, [], [], []);
  const now = await time.latest();
  const pol = policy({ notBefore: now - 10, notAfter: now + 30 * 86400, maxCount: 100, pricePerAccess: 0 });
  await grants.connect(provider).setPolicy(ASSET_ID, pol, ['research', 'ml-training'], [jur('DE'), jur('NL')]);
  return { ...f, assetId: ASSET_ID, pol, now };
}

/** A request inside policyFixture's policy. */
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
    ...overrides,
  };
}

module.exports = {
  ROLE_PROVIDER, ROLE_CONSUMER, ROLE_AUDITOR, KIND_RECEIPTS, KIND_ASSETS,
  Liveness, GrantStatus, Status, GRANT_REQUEST_TYPES, ASSET_ID, ASSET_URI,
  jur, h, sha256, ownersHash, domainOf, signGrant, policy, request,
  deployFixture, onboardedFixture, policyFixture,
};
