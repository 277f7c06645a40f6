'use strict';
const { expect } = require('chai');
const { ethers } = require('hardhat');
const { loadFixture, time } = require('@nomicfoundation/hardhat-network-helpers');
const {
  ROLE_PROVIDER, ROLE_CONSUMER, ROLE_AUDITOR, Status, jur, h, deployFixture, onboardedFixture,
} = require('./helpers');

describe('ParticipantRegistry', function () {
  it('gives the admin DEFAULT_ADMIN_ROLE and OPERATOR_ROLE, exposes role constants', async function () {
    const { participants, admin, outsider } = await loadFixture(deployFixture);
    const OPERATOR_ROLE = await participants.OPERATOR_ROLE();
    expect(OPERATOR_ROLE).to.equal(ethers.id('OPERATOR_ROLE'));
    expect(await participants.hasRole(await participants.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
    expect(await participants.hasRole(OPERATOR_ROLE, admin.address)).to.equal(true);
    expect(await participants.hasRole(OPERATOR_ROLE, outsider.address)).to.equal(false);
    expect(await participants.ROLE_PROVIDER()).to.equal(1n);
    expect(await participants.ROLE_CONSUMER()).to.equal(2n);
    expect(await participants.ROLE_AUDITOR()).to.equal(4n);
  });

  describe('onboard', function () {
    it('stores the participant and emits ParticipantOnboarded', async function () {
      const { participants, admin, provider } = await loadFixture(deployFixture);
      const roles = ROLE_PROVIDER | ROLE_CONSUMER;
      const tx = participants.onboard(provider.address, roles, jur('DE'), h('vc'));
      await expect(tx)
        .to.emit(participants, 'ParticipantOnboarded')
        .withArgs(provider.address, roles, jur('DE'), h('vc'), admin.address);
      const p = await participants.getParticipant(provider.address);
      expect(p.roles).to.equal(BigInt(roles));
      expect(p.status).to.equal(Status.Active);
      expect(p.jurisdiction).to.equal(jur('DE'));
      expect(p.onboardedAt).to.equal(BigInt(await time.latest()));
      expect(p.credentialHash).to.equal(h('vc'));
    });

    it('accepts every valid role combination (1..7)', async function () {
      const { participants } = await loadFixture(deployFixture);
      for (let roles = 1; roles <= 7; roles++) {
        const account = ethers.Wallet.createRandom().address;
        await participants.onboard(account, roles, jur('FR'), ethers.ZeroHash);
        expect((await participants.getParticipant(account)).roles).to.equal(BigInt(roles));
      }
    });

    it('rejects a non-operator (AccessControlUnauthorizedAccount)', async function () {
      const { participants, provider, outsider } = await loadFixture(deployFixture);
      const OPERATOR_ROLE = await participants.OPERATOR_ROLE();
      await expect(participants.connect(outsider).onboard(provider.address, ROLE_PROVIDER, jur('DE'), h('vc')))
        .to.be.revertedWithCustomError(participants, 'AccessControlUnauthorizedAccount')
        .withArgs(outsider.address, OPERATOR_ROLE);
    });

    it('lets a newly granted operator onboard', async function () {
      const { participants, provider, outsider } = await loadFixture(deployFixture);
      await participants.grantRole(await participants.OPERATOR_ROLE(), outsider.address);
      await expect(participants.connect(outsider).onboard(provider.address, ROLE_PROVIDER, jur('DE'), h('vc')))
        .to.emit(participants, 'ParticipantOnboarded')
        .withArgs(provider.address, ROLE_PROVIDER, jur('DE'), h('vc'), outsider.address);
    });

    it('rejects the zero address (ParticipantUnknown)', async function () {
      const { participants } = await loadFixture(deployFixture);
      await expect(participants.onboard(ethers.ZeroAddress, ROLE_PROVIDER, jur('DE'), h('vc')))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
        .withArgs(ethers.ZeroAddress);
    });

    for (const roles of [0, 8, 9, 0x80, 0xff]) {
      it(`rejects roles ${roles} (ParticipantInvalidRoles)`, async function () {
        const { participants, provider } = await loadFixture(deployFixture);
        await expect(participants.onboard(provider.address, roles, jur('DE'), h('vc')))
          .to.be.revertedWithCustomError(participants, 'ParticipantInvalidRoles')
          .withArgs(roles);
      });
    }

    for (const code of ['0x6465' /* "de" */, '0x4431' /* "D1" */, '0x0000', '0x4040' /* "@@" */, '0x5b5a' /* "[Z" */]) {
      it(`rejects jurisdiction ${code} (ParticipantInvalidJurisdiction)`, async function () {
        const { participants, provider } = await loadFixture(deployFixture);
        await expect(participants.onboard(provider.address, ROLE_PROVIDER, code, h('vc')))
          .to.be.revertedWithCustomError(participants, 'ParticipantInvalidJurisdiction')
          .withArgs(code);
      });
    }

    it('accepts the edge jurisdictions AA and ZZ', async function () {
      const { participants, provider, consumer } = await loadFixture(deployFixture);
      await participants.onboard(provider.address, ROLE_PROVIDER, jur('AA'), h('vc'));
      await participants.onboard(consumer.address, ROLE_CONSUMER, jur('ZZ'), h('vc'));
      expect(await participants.requireActive(consumer.address, ROLE_CONSUMER)).to.equal(jur('ZZ'));
    });

    it('rejects a second onboarding, also while suspended (ParticipantAlreadyOnboarded)', async function () {
      const { participants, provider } = await loadFixture(onboardedFixture);
      await expect(participants.onboard(provider.address, ROLE_CONSUMER, jur('FR'), h('other')))
        .to.be.revertedWithCustomError(participants, 'ParticipantAlreadyOnboarded')
        .withArgs(provider.address);
      await participants.suspend(provider.address);
      await expect(participants.onboard(provider.address, ROLE_CONSUMER, jur('FR'), h('other')))
        .to.be.revertedWithCustomError(participants, 'ParticipantAlreadyOnboarded')
        .withArgs(provider.address);
    });
  });

  describe('suspend / reinstate', function () {
    it('suspends and reinstates with events', async function () {
      const { participants, admin, provider } = await loadFixture(onboardedFixture);
      await expect(participants.suspend(provider.address))
        .to.emit(participants, 'ParticipantSuspended')
        .withArgs(provider.address, admin.address);
      expect((await participants.getParticipant(provider.address)).status).to.equal(Status.Suspended);
      expect(await participants.isActive(provider.address, ROLE_PROVIDER)).to.equal(false);
      await expect(participants.reinstate(provider.address))
        .to.emit(participants, 'ParticipantReinstated')
        .withArgs(provider.address, admin.address);
      expect((await participants.getParticipant(provider.address)).status).to.equal(Status.Active);
      expect(await participants.isActive(provider.address, ROLE_PROVIDER)).to.equal(true);
    });

    it('rejects a non-operator', async function () {
      const { participants, provider, outsider } = await loadFixture(onboardedFixture);
      const OPERATOR_ROLE = await participants.OPERATOR_ROLE();
      await expect(participants.connect(provider).suspend(provider.address))
        .to.be.revertedWithCustomError(participants, 'AccessControlUnauthorizedAccount')
        .withArgs(provider.address, OPERATOR_ROLE);
      await participants.suspend(provider.address);
      await expect(participants.connect(outsider).reinstate(provider.address))
        .to.be.revertedWithCustomError(participants, 'AccessControlUnauthorizedAccount')
        .withArgs(outsider.address, OPERATOR_ROLE);
    });

    it('rejects unknown accounts (ParticipantUnknown)', async function () {
      const { participants, outsider } = await loadFixture(onboardedFixture);
      await expect(participants.suspend(outsider.address))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
        .withArgs(outsider.address);
      await expect(participants.reinstate(outsider.address))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
        .withArgs(outsider.address);
    });

    it('rejects suspending twice (ParticipantNotActive) and reinstating an active one (ParticipantNotSuspended)', async function () {
      const { participants, provider } = await loadFixture(onboardedFixture);
      await expect(participants.reinstate(provider.address))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotSuspended')
        .withArgs(provider.address);
      await participants.suspend(provider.address);
      await expect(participants.suspend(provider.address))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(provider.address);
    });
  });

  describe('requireActive / isActive', function () {
    it('returns the jurisdiction of an active participant holding the roles', async function () {
      const { participants, provider2, auditor } = await loadFixture(onboardedFixture);
      expect(await participants.requireActive(provider2.address, ROLE_PROVIDER)).to.equal(jur('NL'));
      expect(await participants.requireActive(provider2.address, ROLE_PROVIDER | ROLE_CONSUMER)).to.equal(jur('NL'));
      expect(await participants.requireActive(auditor.address, 0)).to.equal(jur('DE'));
      expect(await participants.isActive(provider2.address, ROLE_PROVIDER | ROLE_CONSUMER)).to.equal(true);
      expect(await participants.isActive(auditor.address, 0)).to.equal(true);
    });

    it('reverts with ParticipantMissingRole when a role bit is missing', async function () {
      const { participants, provider, consumer } = await loadFixture(onboardedFixture);
      await expect(participants.requireActive(consumer.address, ROLE_PROVIDER))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(consumer.address, ROLE_PROVIDER);
      await expect(participants.requireActive(provider.address, ROLE_PROVIDER | ROLE_AUDITOR))
        .to.be.revertedWithCustomError(participants, 'ParticipantMissingRole')
        .withArgs(provider.address, ROLE_PROVIDER | ROLE_AUDITOR);
      expect(await participants.isActive(consumer.address, ROLE_PROVIDER)).to.equal(false);
    });

    it('reverts for unknown (ParticipantUnknown) and suspended (ParticipantNotActive) accounts', async function () {
      const { participants, provider, outsider } = await loadFixture(onboardedFixture);
      await expect(participants.requireActive(outsider.address, 0))
        .to.be.revertedWithCustomError(participants, 'ParticipantUnknown')
        .withArgs(outsider.address);
      expect(await participants.isActive(outsider.address, 0)).to.equal(false);
      await participants.suspend(provider.address);
      await expect(participants.requireActive(provider.address, ROLE_PROVIDER))
        .to.be.revertedWithCustomError(participants, 'ParticipantNotActive')
        .withArgs(provider.address);
      expect(await participants.isActive(provider.address, 0)).to.equal(false);
    });

    it('returns an empty record for an unknown account', async function () {
      const { participants, outsider } = await loadFixture(onboardedFixture);
      const p = await participants.getParticipant(outsider.address);
      expect(p.status).to.equal(Status.None);
      expect(p.roles).to.equal(0n);
    });
  });
});
