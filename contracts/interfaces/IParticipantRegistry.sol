// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IParticipantRegistry
/// @notice Who belongs to the data space: roles, jurisdiction, credential, status.
interface IParticipantRegistry {
    /// @notice Lifecycle of a participant.
    enum Status {
        None,
        Active,
        Suspended
    }

    /// @notice On-chain record of one participant (one storage slot + credential).
    struct Participant {
        uint8 roles; // bit flags of Roles: PROVIDER | CONSUMER | AUDITOR
        Status status;
        bytes2 jurisdiction; // ISO 3166-1 alpha-2, upper case ASCII
        uint40 onboardedAt;
        bytes32 credentialHash; // hash of the participant's VC / DID document
    }

    /// @notice `account` was onboarded before.
    /// @param account The address.
    error ParticipantAlreadyOnboarded(address account);
    /// @notice `account` was never onboarded (or is the zero address).
    /// @param account The address.
    error ParticipantUnknown(address account);
    /// @notice `account` is suspended.
    /// @param account The address.
    error ParticipantNotActive(address account);
    /// @notice `account` lacks a role bit of `role`.
    /// @param account The address.
    /// @param role The role bits required.
    error ParticipantMissingRole(address account, uint8 role);
    /// @notice `account` is not suspended, so it cannot be reinstated.
    /// @param account The address.
    error ParticipantNotSuspended(address account);
    /// @notice `roles` is zero or has a bit outside `Roles.ALL`.
    /// @param roles The role bits given.
    error ParticipantInvalidRoles(uint8 roles);
    /// @notice `jurisdiction` is not two upper-case ASCII letters.
    /// @param jurisdiction The code given.
    error ParticipantInvalidJurisdiction(bytes2 jurisdiction);

    /// @notice An operator onboarded `account`.
    /// @param account The participant.
    /// @param roles Its role bits.
    /// @param jurisdiction Its ISO 3166-1 alpha-2 code.
    /// @param credentialHash Hash of its credential or DID document.
    /// @param by The operator.
    event ParticipantOnboarded(
        address indexed account, uint8 roles, bytes2 jurisdiction, bytes32 credentialHash, address indexed by
    );
    /// @notice An operator suspended `account`.
    /// @param account The participant.
    /// @param by The operator.
    event ParticipantSuspended(address indexed account, address indexed by);
    /// @notice An operator reinstated `account`.
    /// @param account The participant.
    /// @param by The operator.
    event ParticipantReinstated(address indexed account, address indexed by);

    /// @notice Onboard a participant (operator only).
    /// @param account The participant's address.
    /// @param roles Bit flags of roles (1 provider, 2 consumer, 4 auditor).
    /// @param jurisdiction ISO 3166-1 alpha-2 code, e.g. "DE".
    /// @param credentialHash Hash of the participant's verifiable credential or DID document.
    function onboard(address account, uint8 roles, bytes2 jurisdiction, bytes32 credentialHash) external;

    /// @notice Suspend an active participant (operator only).
    /// @param account The participant to suspend.
    function suspend(address account) external;

    /// @notice Reinstate a suspended participant (operator only).
    /// @param account The participant to reinstate.
    function reinstate(address account) external;

    /// @notice The participant record (status None if unknown).
    /// @param account The address to look up.
    /// @return The participant record.
    function getParticipant(address account) external view returns (Participant memory);

    /// @notice Reverts unless `account` is active and holds every role bit in `role`.
    /// @param account The address to check.
    /// @param role Role bits required (0: any active participant).
    /// @return jurisdiction The participant's jurisdiction.
    function requireActive(address account, uint8 role) external view returns (bytes2 jurisdiction);

    /// @notice Whether `account` is active and holds every role bit in `role`.
    /// @param account The address to check.
    /// @param role Role bits required (0: any role).
    /// @return True when active with the roles.
    function isActive(address account, uint8 role) external view returns (bool);
}
