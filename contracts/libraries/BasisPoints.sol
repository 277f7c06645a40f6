// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title BasisPoints
/// @notice Revenue shares are given in basis points: 10,000 of them make the whole.
library BasisPoints {
    /// @notice The whole, 100 %, in basis points.
    uint256 internal constant TOTAL = 10_000;
}
