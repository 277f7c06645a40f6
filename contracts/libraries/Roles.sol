// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Roles
/// @notice The participant role bits of the data space, shared by every TDS contract. A participant's
///         `roles` (ParticipantRegistry) is a bitwise OR of them; checks require every bit asked for.
/// @dev Mirrored off-chain by `domain.types.Role` (a test compares the two).
library Roles {
    /// @notice Registers assets, sets policies, issues grants, anchors roots, settles usage.
    uint8 internal constant PROVIDER = 1;
    /// @notice Signs grant requests and consumes data under grants.
    uint8 internal constant CONSUMER = 2;
    /// @notice Reads and checks the data space's evidence.
    uint8 internal constant AUDITOR = 4;
    /// @notice Every defined role bit; any other bit is invalid.
    uint8 internal constant ALL = PROVIDER | CONSUMER | AUDITOR;
}
