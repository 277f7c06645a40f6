// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IUsageGrants} from "./IUsageGrants.sol";

/// @title ISettlement
/// @notice Settles metered usage per grant in an ERC-20, paying the asset's owners by their shares.
interface ISettlement {
    /// @notice `caller` is not the provider of the grant's asset.
    /// @param grantId The grant.
    /// @param caller The sender.
    error SettlementNotProvider(bytes32 grantId, address caller);
    /// @notice A settlement must cover at least one access.
    /// @param grantId The grant.
    error SettlementZeroCount(bytes32 grantId);
    /// @notice Settling would take the grant past its maxCount.
    /// @param grantId The grant.
    /// @param settled The cumulative count it would reach.
    /// @param maxCount The grant's cap.
    error SettlementCountExceeded(bytes32 grantId, uint256 settled, uint256 maxCount);
    /// @notice `usageRoot` is not anchored on behalf of the calling provider.
    /// @param usageRoot The root given.
    error SettlementRootNotAnchored(bytes32 usageRoot);

    /// @notice `count` accesses of a grant were settled for `amount` token units.
    /// @param grantId The grant.
    /// @param assetId Its asset.
    /// @param consumer The paying consumer.
    /// @param count Accesses settled.
    /// @param amount count * price per access.
    /// @param usageRoot The receipts root evidencing the usage (0 if none).
    event UsageSettled(
        bytes32 indexed grantId,
        bytes32 indexed assetId,
        address indexed consumer,
        uint32 count,
        uint256 amount,
        bytes32 usageRoot
    );
    /// @notice `owner` was paid `amount` of a settlement of `grantId`.
    /// @param grantId The grant.
    /// @param owner The paid owner.
    /// @param amount Token units paid.
    event RevenuePaid(bytes32 indexed grantId, address indexed owner, uint256 amount);

    /// @notice Settle `count` metered accesses of a grant: the consumer pays count * price, split among owners.
    /// @dev The consumer must have approved this contract for the amount on the settlement token.
    /// @param request The signed request of the grant (as in its GrantIssued event); its id is recomputed.
    /// @param count Accesses being settled (cumulative settled count may not exceed the grant's maxCount).
    /// @param usageRoot Receipts root evidencing the usage, anchored on behalf of the calling provider (0 if none).
    /// @param owners The asset's registered owners (empty for a provider-owned asset).
    /// @param sharesBps Their shares in basis points.
    function settle(
        IUsageGrants.GrantRequest calldata request,
        uint32 count,
        bytes32 usageRoot,
        address[] calldata owners,
        uint16[] calldata sharesBps
    ) external;

    /// @notice Accesses settled so far for a grant.
    /// @param grantId The grant.
    /// @return The settled count.
    function settledCount(bytes32 grantId) external view returns (uint256);
}
