// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title SettlementToken
/// @notice The ERC-20 in which metered usage is settled on a TDS devnet (the operator mints).
///         A production space would point Settlement at an existing stablecoin instead.
contract SettlementToken is ERC20, Ownable {
    /// @param operator Owner allowed to mint.
    constructor(address operator) ERC20("TDS Settlement Token", "TDST") Ownable(operator) {}

    /// @notice Mint tokens (owner only).
    /// @param to Recipient.
    /// @param amount Amount in base units.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
