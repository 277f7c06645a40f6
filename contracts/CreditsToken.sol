// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";

/// @title CreditsToken
/// @notice 积分: a points token for a data space that runs on credits. The operator mints them to
///         contributors (per accepted dataset, per use of their data); members spend them on others' data
///         through Settlement. Transfers are limited to active participants and the Settlement contract.
/// @dev Whole points (0 decimals). Minting goes to active participants only; burning is not offered.
contract CreditsToken is ERC20, Ownable {
    IParticipantRegistry private immutable _participants;
    address private _settlement;

    /// @notice `account` is neither an active participant nor the Settlement contract.
    /// @param account The sender or recipient.
    error CreditsNotMember(address account);
    /// @notice Settlement can be bound once.
    error CreditsSettlementBound();

    /// @param operator Owner allowed to mint and bind Settlement.
    /// @param participants The ParticipantRegistry deciding membership.
    constructor(address operator, IParticipantRegistry participants)
        ERC20("TDS Credits", "TDSC")
        Ownable(operator)
    {
        _participants = participants;
    }

    /// @notice Bind the Settlement contract allowed to hold and pay out credits (once; owner only).
    /// @param settlement_ Its address.
    function bindSettlement(address settlement_) external onlyOwner {
        if (_settlement != address(0) || settlement_ == address(0)) revert CreditsSettlementBound();
        _settlement = settlement_;
    }

    /// @notice Mint credits to an active participant (owner only).
    /// @param to Recipient.
    /// @param amount Points.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice The bound Settlement contract.
    /// @return Its address.
    function settlement() external view returns (address) {
        return _settlement;
    }

    /// @notice Points are whole numbers.
    /// @return 0.
    function decimals() public pure override returns (uint8) {
        return 0;
    }

    /// @dev Every holder on either side of a move must be a member (mint: the recipient).
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0)) _requireMember(from);
        if (to != address(0)) _requireMember(to);
        super._update(from, to, value);
    }

    function _requireMember(address account) private view {
        if (account == _settlement && account != address(0)) return;
        if (_participants.getParticipant(account).status != IParticipantRegistry.Status.Active) {
            revert CreditsNotMember(account);
        }
    }
}
