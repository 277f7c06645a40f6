// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IUsageGrants} from "./interfaces/IUsageGrants.sol";
import {IAnchorRegistry} from "./interfaces/IAnchorRegistry.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {BasisPoints} from "./libraries/BasisPoints.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Settlement
/// @notice Prices metered usage per grant and pays the asset's owners by their shares.
contract Settlement is ISettlement {
    using SafeERC20 for IERC20;

    IERC20 private immutable _token;
    IParticipantRegistry private immutable _participants;
    IAssetRegistry private immutable _assets;
    IUsageGrants private immutable _grants;
    IAnchorRegistry private immutable _anchors;

    mapping(bytes32 grantId => uint256) private _settled;

    /// @param token Settlement ERC-20.
    /// @param participants ParticipantRegistry.
    /// @param assets AssetRegistry.
    /// @param grants UsageGrants.
    /// @param anchors AnchorRegistry.
    constructor(
        IERC20 token,
        IParticipantRegistry participants,
        IAssetRegistry assets,
        IUsageGrants grants,
        IAnchorRegistry anchors
    ) {
        _token = token;
        _participants = participants;
        _assets = assets;
        _grants = grants;
        _anchors = anchors;
    }

    /// @inheritdoc ISettlement
    function settle(
        IUsageGrants.GrantRequest calldata request,
        uint32 count,
        bytes32 usageRoot,
        address[] calldata owners,
        uint16[] calldata sharesBps
    ) external {
        (bytes32 grantId, IUsageGrants.Grant memory g) = _grants.requireGrant(request);
        IAssetRegistry.Asset memory a = _assets.getAsset(request.assetId);
        if (a.provider != msg.sender) revert SettlementNotProvider(grantId, msg.sender);
        _participants.requireActive(msg.sender, Roles.PROVIDER);
        if (count == 0) revert SettlementZeroCount(grantId);
        uint256 settled = _settled[grantId] + count;
        if (settled > g.maxCount) revert SettlementCountExceeded(grantId, settled, g.maxCount);
        if (usageRoot != bytes32(0) && _anchors.getAnchor(msg.sender, usageRoot).anchorer == address(0)) {
            revert SettlementRootNotAnchored(usageRoot);
        }
        _assets.checkOwners(request.assetId, owners, sharesBps);
        _settled[grantId] = settled;
        uint256 amount = uint256(count) * request.pricePerAccess;
        emit UsageSettled(grantId, request.assetId, g.consumer, count, amount, usageRoot);
        if (amount == 0) return;
        if (owners.length == 0) {
            _pay(grantId, g.consumer, a.provider, amount);
            return;
        }
        uint256 paid = 0;
        for (uint256 i = 1; i < owners.length; ++i) {
            uint256 part = amount * sharesBps[i] / BasisPoints.TOTAL;
            paid += part;
            _pay(grantId, g.consumer, owners[i], part);
        }
        _pay(grantId, g.consumer, owners[0], amount - paid); // rounding dust goes to the first owner
    }

    /// @inheritdoc ISettlement
    function settledCount(bytes32 grantId) external view returns (uint256) {
        return _settled[grantId];
    }

    function _pay(bytes32 grantId, address from, address to, uint256 amount) private {
        if (amount == 0) return;
        _token.safeTransferFrom(from, to, amount);
        emit RevenuePaid(grantId, to, amount);
    }
}
