// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title ParticipantRegistry
/// @notice Application-level permissioning: operators onboard, suspend and reinstate participants;
///         every other TDS contract asks this registry before it changes state.
contract ParticipantRegistry is AccessControl, IParticipantRegistry {
    /// @notice Role allowed to onboard, suspend and reinstate participants.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice Role bit of a provider (`Roles.PROVIDER`).
    uint8 public constant ROLE_PROVIDER = Roles.PROVIDER;
    /// @notice Role bit of a consumer (`Roles.CONSUMER`).
    uint8 public constant ROLE_CONSUMER = Roles.CONSUMER;
    /// @notice Role bit of an auditor (`Roles.AUDITOR`).
    uint8 public constant ROLE_AUDITOR = Roles.AUDITOR;

    mapping(address account => Participant) private _participants;

    /// @param admin Receives DEFAULT_ADMIN_ROLE and OPERATOR_ROLE.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
    }

    /// @inheritdoc IParticipantRegistry
    function onboard(address account, uint8 roles, bytes2 jurisdiction, bytes32 credentialHash)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (account == address(0)) revert ParticipantUnknown(account);
        if (roles == 0 || roles & ~Roles.ALL != 0) revert ParticipantInvalidRoles(roles);
        if (!_isAlpha2(jurisdiction)) revert ParticipantInvalidJurisdiction(jurisdiction);
        Participant storage p = _participants[account];
        if (p.status != Status.None) revert ParticipantAlreadyOnboarded(account);
        p.roles = roles;
        p.status = Status.Active;
        p.jurisdiction = jurisdiction;
        p.onboardedAt = uint40(block.timestamp);
        p.credentialHash = credentialHash;
        emit ParticipantOnboarded(account, roles, jurisdiction, credentialHash, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function suspend(address account) external onlyRole(OPERATOR_ROLE) {
        Participant storage p = _participants[account];
        if (p.status == Status.None) revert ParticipantUnknown(account);
        if (p.status != Status.Active) revert ParticipantNotActive(account);
        p.status = Status.Suspended;
        emit ParticipantSuspended(account, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function reinstate(address account) external onlyRole(OPERATOR_ROLE) {
        Participant storage p = _participants[account];
        if (p.status == Status.None) revert ParticipantUnknown(account);
        if (p.status != Status.Suspended) revert ParticipantNotSuspended(account);
        p.status = Status.Active;
        emit ParticipantReinstated(account, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function getParticipant(address account) external view returns (Participant memory) {
        return _participants[account];
    }

    /// @inheritdoc IParticipantRegistry
    function requireActive(address account, uint8 role) external view returns (bytes2 jurisdiction) {
        Participant storage p = _participants[account];
        if (p.status == Status.None) revert ParticipantUnknown(account);
        if (p.status != Status.Active) revert ParticipantNotActive(account);
        if (p.roles & role != role) revert ParticipantMissingRole(account, role);
        return p.jurisdiction;
    }

    /// @inheritdoc IParticipantRegistry
    function isActive(address account, uint8 role) external view returns (bool) {
        Participant storage p = _participants[account];
        return p.status == Status.Active && p.roles & role == role;
    }

    function _isAlpha2(bytes2 code) private pure returns (bool) {
        bytes1 a = code[0];
        bytes1 b = code[1];
        return a >= 0x41 && a <= 0x5A && b >= 0x41 && b <= 0x5A;
    }
}
