// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MisbehavingToken
/// @notice Test double (never deployed by `tds deploy`): an ERC-20 that can be told to answer `false`
///         or to revert on transfer and transferFrom, as some real tokens do. Settlement must refuse both
///         and change nothing.
contract MisbehavingToken is ERC20 {
    /// @notice 0 behaves, 1 returns false, 2 reverts.
    uint8 public mode;

    /// @notice The token was told to fail.
    error MisbehavingTokenRefused();

    constructor() ERC20("Misbehaving Token", "MIS") {}

    /// @notice Anyone may mint (a test token).
    /// @param to Recipient.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Set the failure mode.
    /// @param mode_ 0 behaves, 1 returns false, 2 reverts.
    function setMode(uint8 mode_) external {
        mode = mode_;
    }

    /// @inheritdoc ERC20
    function transfer(address to, uint256 value) public override returns (bool) {
        if (mode == 1) return false;
        if (mode == 2) revert MisbehavingTokenRefused();
        return super.transfer(to, value);
    }

    /// @inheritdoc ERC20
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (mode == 1) return false;
        if (mode == 2) revert MisbehavingTokenRefused();
        return super.transferFrom(from, to, value);
    }
}
