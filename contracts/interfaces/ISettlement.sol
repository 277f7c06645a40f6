// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IUsageGrants} from "./IUsageGrants.sol";

/// @title ISettlement
/// @notice The money half of a grant: consumer deposits and escrow locks, settlement of anchored usage per
///         period, payouts to the asset's owners by their shares with a royalty up the asset's lineage,
///         earnings withdrawals, and the refunds a dispute ruling orders.
/// @dev All money is held in one ERC-20 (`token`); inside the contract it moves between internal balances
///      (a consumer's free deposit, a grant's lock, an owner's earnings) and leaves only by `withdraw*`.
interface ISettlement {
    /// @notice A paid grant's money account, opened when UsageGrants issues it.
    struct Account {
        address consumer;
        IUsageGrants.PriceModel priceModel;
        uint24 freeUses;
        uint32 settledUntil; // end of the last settled period (unix seconds); periods settle in order
        uint32 units; // units settled so far (uses, or periods for Subscription)
        uint96 price;
        uint96 locked; // escrow still locked for this grant
        uint32 period;
        bool frozen; // a dispute is open: no settlement, no release until it is ruled
        bool released;
        bytes32 assetId;
    }

    /// @notice One grant's usage in a settlement batch.
    struct Claim {
        bytes32 grantId;
        uint32 units; // allowed anchored uses in the period (Subscription: periods started by periodEnd)
        uint16 split; // index into the batch's splits of the grant's asset
        bytes statement; // PayAfterUse: the consumer's EIP-712 UsageStatement signature; empty otherwise
    }

    /// @notice How one asset's revenue is paid: its registered owners and shares, and its parents (lineage).
    struct Split {
        bytes32 assetId;
        address[] owners; // empty: the provider owns 100 %
        uint16[] sharesBps;
        uint16[] parents; // indices into the batch's splits, in the asset's registered parent order
    }

    /// @notice The consumer's free deposit is below what the grant must lock.
    /// @param consumer The consumer.
    /// @param needed Token units to lock.
    /// @param available Its free deposit.
    error EscrowDepositTooSmall(address consumer, uint256 needed, uint256 available);
    /// @notice Withdrawing more than the free (unlocked) deposit or the earned balance.
    /// @param account The account.
    /// @param requested Token units asked for.
    /// @param available What may be withdrawn.
    error SettlementInsufficientBalance(address account, uint256 requested, uint256 available);
    /// @notice Only UsageGrants (locks) or Disputes (freeze, refunds) may call this.
    /// @param caller The sender.
    error SettlementUnauthorized(address caller);
    /// @notice No paid grant with this id (free grants have no account).
    /// @param grantId The grant.
    error SettlementUnknownGrant(bytes32 grantId);
    /// @notice `caller` is not the provider of the grant's asset.
    /// @param grantId The grant.
    /// @param caller The sender.
    error SettlementNotProvider(bytes32 grantId, address caller);
    /// @notice The period is empty, not over yet, or overlaps a period settled before.
    /// @param grantId The grant (zero for the batch's period itself).
    /// @param periodStart Its start.
    /// @param periodEnd Its end.
    error SettlementPeriodInvalid(bytes32 grantId, uint32 periodStart, uint32 periodEnd);
    /// @notice The receipts root is not anchored (kind 1) on behalf of the calling provider.
    /// @param root The root given.
    error SettlementRootNotAnchored(bytes32 root);
    /// @notice The batch claims more per-use units than the anchored root has receipts.
    /// @param units Units claimed.
    /// @param leafCount Receipts under the root.
    error SettlementUnitsExceedRoot(uint256 units, uint256 leafCount);
    /// @notice The units claimed do not fit the grant (zero per-use units, more uses than the grant's
    ///         maxCount leaves, or Subscription periods that are not the funded ones started by the period's end).
    /// @param grantId The grant.
    /// @param units Units claimed.
    /// @param expected Units that would fit.
    error SettlementUnitsInvalid(bytes32 grantId, uint256 units, uint256 expected);
    /// @notice The amount due is above what the grant still has locked.
    /// @param grantId The grant.
    /// @param amount Amount due.
    /// @param locked Still locked.
    error SettlementExceedsLock(bytes32 grantId, uint256 amount, uint256 locked);
    /// @notice The usage statement is not signed by the grant's consumer.
    /// @param grantId The grant.
    /// @param consumer Its consumer.
    error SettlementInvalidStatement(bytes32 grantId, address consumer);
    /// @notice A split is not the asset's registered owners/shares or parents, or is not the claim's asset.
    /// @param assetId The asset.
    error SettlementSplitMismatch(bytes32 assetId);
    /// @notice The escrow cannot be released (yet): still live, frozen by a dispute, or already released.
    /// @param grantId The grant.
    error EscrowNotReleasable(bytes32 grantId);
    /// @notice A refund is larger than the grant's lock plus the provider's earnings.
    /// @param grantId The grant.
    /// @param refund The refund ordered.
    /// @param available Lock + provider earnings.
    error SettlementRefundUnfunded(bytes32 grantId, uint256 refund, uint256 available);
    /// @notice A royalty above 10,000 basis points, or a rebind, or a caller that is not an operator.
    error SettlementConfigInvalid();

    /// @notice `consumer` deposited `amount` into its free deposit.
    /// @param consumer The consumer.
    /// @param amount Token units.
    event Deposited(address indexed consumer, uint256 amount);
    /// @notice `account` withdrew `amount` of its free deposit (`earnings` false) or its earnings (true).
    /// @param account The account.
    /// @param amount Token units.
    /// @param earnings Which balance.
    event Withdrawn(address indexed account, uint256 amount, bool earnings);
    /// @notice A paid grant's account was opened; `locked` moved from the consumer's free deposit to escrow.
    /// @param grantId The grant.
    /// @param assetId Its asset.
    /// @param consumer The consumer.
    /// @param priceModel How it is charged.
    /// @param price Price per unit.
    /// @param locked Token units locked (0 for PayAfterUse).
    event EscrowLocked(
        bytes32 indexed grantId,
        bytes32 indexed assetId,
        address indexed consumer,
        IUsageGrants.PriceModel priceModel,
        uint96 price,
        uint256 locked
    );
    /// @notice The rest of a grant's lock went back to the consumer's free deposit.
    /// @param grantId The grant.
    /// @param consumer The consumer.
    /// @param amount Token units released.
    /// @param by Who triggered it.
    event EscrowReleased(bytes32 indexed grantId, address indexed consumer, uint256 amount, address by);
    /// @notice One grant's usage in [periodStart, periodEnd) was settled for `amount`.
    /// @param grantId The grant.
    /// @param assetId Its asset.
    /// @param consumer The paying consumer.
    /// @param periodStart Period start (unix seconds).
    /// @param periodEnd Period end (unix seconds, exclusive).
    /// @param units Units settled (uses, or periods for Subscription).
    /// @param freeUnits Of those, free-trial units not charged.
    /// @param amount Token units charged.
    /// @param receiptsRoot The anchored receipts root evidencing the usage (0 for Subscription).
    event UsageSettled(
        bytes32 indexed grantId,
        bytes32 indexed assetId,
        address indexed consumer,
        uint32 periodStart,
        uint32 periodEnd,
        uint32 units,
        uint32 freeUnits,
        uint256 amount,
        bytes32 receiptsRoot
    );
    /// @notice A grant's settlement waits: a dispute on it is open.
    /// @param grantId The grant.
    /// @param periodEnd The period that was not settled.
    event SettlementDeferred(bytes32 indexed grantId, uint32 periodEnd);
    /// @notice `owner` earned `amount` from a settlement of `grantId`, as an owner of `assetId`
    ///         (`depth` 0: the settled asset; n: a royalty from n lineage steps below).
    /// @param grantId The grant.
    /// @param assetId The asset whose owner is paid.
    /// @param owner The paid owner.
    /// @param amount Token units.
    /// @param depth Lineage depth.
    event RevenuePaid(bytes32 indexed grantId, bytes32 indexed assetId, address indexed owner, uint256 amount, uint8 depth);
    /// @notice A dispute froze (true) or unfroze (false) a grant's account.
    /// @param grantId The grant.
    /// @param frozen The new state.
    event AccountFrozen(bytes32 indexed grantId, bool frozen);
    /// @notice A ruling refunded `fromLock + fromProvider` to the consumer's free deposit.
    /// @param grantId The grant.
    /// @param consumer The consumer.
    /// @param fromLock Taken from the grant's lock.
    /// @param fromProvider Taken from the provider's earnings.
    event Refunded(bytes32 indexed grantId, address indexed consumer, uint256 fromLock, uint256 fromProvider);
    /// @notice The operator set the royalty a derived asset passes to its parents' owners.
    /// @param royaltyBps Basis points of a derived asset's revenue.
    event RoyaltySet(uint16 royaltyBps);

    // ---- consumers ----
    /// @notice Deposit `amount` of the token (approve this contract first) into the caller's free deposit.
    /// @param amount Token units.
    function deposit(uint256 amount) external;

    /// @notice Withdraw from the caller's free (unlocked) deposit.
    /// @param amount Token units.
    function withdrawDeposit(uint256 amount) external;

    // ---- owners ----
    /// @notice Withdraw the caller's earnings.
    /// @param amount Token units.
    function withdraw(uint256 amount) external;

    // ---- providers ----
    /// @notice Settle one period of usage for a batch of the caller's grants. A grant whose period was
    ///         settled before is skipped (re-running a period is a no-op); a frozen one is deferred.
    /// @param periodStart Period start (unix seconds).
    /// @param periodEnd Period end (exclusive; not in the future).
    /// @param receiptsRoot Receipts root anchored on behalf of the caller covering the per-use units (0 when
    ///        the batch has only Subscription claims).
    /// @param claims Grants and their units.
    /// @param splits Payout splits of the claims' assets and their lineage.
    function settle(
        uint32 periodStart,
        uint32 periodEnd,
        bytes32 receiptsRoot,
        Claim[] calldata claims,
        Split[] calldata splits
    ) external;

    /// @notice Return a grant's remaining lock to its consumer: its provider once the grant is revoked or
    ///         expired, anyone once it expired `claimWindow` ago. Not while a dispute is open.
    /// @param grantId The grant.
    function release(bytes32 grantId) external;

    // ---- UsageGrants / Disputes ----
    /// @notice Open a paid grant's account and lock its escrow (UsageGrants, inside issueGrant).
    /// @param grantId The grant.
    /// @param assetId Its asset.
    /// @param consumer The consumer.
    /// @param pricing The policy's money terms.
    /// @param lockAmount Token units to lock (0 for PayAfterUse).
    function openAccount(
        bytes32 grantId,
        bytes32 assetId,
        address consumer,
        IUsageGrants.Pricing calldata pricing,
        uint256 lockAmount
    ) external;

    /// @notice A grant was revoked (UsageGrants, inside revokeGrant): a Subscription keeps the lock of the
    ///         periods started so far and returns the rest to the consumer's free deposit at once.
    /// @param grantId The grant.
    /// @param provider The revoking provider.
    function onRevoked(bytes32 grantId, address provider) external;

    /// @notice Freeze a grant's account while a dispute is open (Disputes). No-op for a grant without one.
    /// @param grantId The grant.
    function freeze(bytes32 grantId) external;

    /// @notice Carry out a ruling (Disputes): refund `refund` to the consumer (from the lock, then from the
    ///         provider's earnings) and unfreeze.
    /// @param grantId The grant.
    /// @param consumer The grant's consumer.
    /// @param provider The asset's provider.
    /// @param refund Token units to refund (0: upheld).
    function resolve(bytes32 grantId, address consumer, address provider, uint256 refund) external;

    // ---- operator ----
    /// @notice Set the royalty a derived asset passes up its lineage (an operator).
    /// @param royaltyBps Basis points, at most 10,000.
    function setRoyalty(uint16 royaltyBps) external;

    // ---- views ----
    /// @notice The settlement token.
    /// @return Its address.
    function token() external view returns (address);

    /// @notice A grant's account (consumer zero when none).
    /// @param grantId The grant.
    /// @return The account.
    function accountOf(bytes32 grantId) external view returns (Account memory);

    /// @notice A consumer's free deposit.
    /// @param consumer The consumer.
    /// @return Token units.
    function depositOf(address consumer) external view returns (uint256);

    /// @notice An owner's withdrawable earnings.
    /// @param owner The owner.
    /// @return Token units.
    function earningsOf(address owner) external view returns (uint256);

    /// @notice Free-trial uses a consumer has had of an asset.
    /// @param assetId The asset.
    /// @param consumer The consumer.
    /// @return Uses.
    function trialUsed(bytes32 assetId, address consumer) external view returns (uint256);

    /// @notice The royalty in basis points.
    /// @return Basis points.
    function royaltyBps() external view returns (uint16);

    /// @notice Seconds after a grant's end before anyone may release its lock.
    /// @return Seconds.
    function claimWindow() external view returns (uint32);

    /// @notice The EIP-712 digest a consumer signs for a PayAfterUse period (UsageStatement).
    /// @param grantId The grant.
    /// @param periodStart Period start.
    /// @param periodEnd Period end.
    /// @param units Units.
    /// @param amount Amount due.
    /// @param receiptsRoot The receipts root.
    /// @return The digest.
    function hashStatement(
        bytes32 grantId,
        uint32 periodStart,
        uint32 periodEnd,
        uint32 units,
        uint256 amount,
        bytes32 receiptsRoot
    ) external view returns (bytes32);
}
