// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IUsageGrants} from "./interfaces/IUsageGrants.sol";
import {IAnchorRegistry} from "./interfaces/IAnchorRegistry.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {BasisPoints} from "./libraries/BasisPoints.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Settlement
/// @notice Escrow, settlement of anchored usage, revenue shares and lineage royalties, refunds by ruling.
/// @dev Settles only what a receipts root anchored on behalf of the asset's provider covers: the root is
///      checked on-chain (anchored, kind 1, enough receipts for the units claimed) and recorded in every
///      UsageSettled event, so an auditor can check each settled unit against the anchored receipts.
contract Settlement is ISettlement, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice EIP-712 type hash of UsageStatement (what a PayAfterUse consumer signs per period).
    bytes32 public constant USAGE_STATEMENT_TYPEHASH = keccak256(
        "UsageStatement(bytes32 grantId,uint32 periodStart,uint32 periodEnd,uint32 units,uint256 amount,bytes32 receiptsRoot)"
    );
    /// @notice Lineage steps a royalty travels up at most.
    uint8 public constant MAX_ROYALTY_DEPTH = 4;
    uint8 private constant KIND_RECEIPTS = 1;
    bytes32 private constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    IERC20 private immutable _token;
    IParticipantRegistry private immutable _participants;
    IAssetRegistry private immutable _assets;
    IUsageGrants private immutable _grants;
    IAnchorRegistry private immutable _anchors;
    address private immutable _disputes;
    uint32 private immutable _claimWindow;
    uint16 private _royaltyBps;

    /// @dev A batch's period and root, passed as one value (stack depth).
    struct Period {
        uint32 start;
        uint32 end;
        bytes32 root;
    }

    mapping(bytes32 grantId => Account) private _accounts;
    mapping(address consumer => uint256) private _deposits;
    mapping(address owner => uint256) private _earnings;
    mapping(bytes32 assetConsumer => uint256) private _trialUsed;

    /// @param token_ Settlement ERC-20 (the devnet SettlementToken, a CreditsToken, or any ERC-20).
    /// @param participants ParticipantRegistry (its operators configure the royalty).
    /// @param assets AssetRegistry.
    /// @param grants UsageGrants (the only caller of openAccount).
    /// @param anchors AnchorRegistry.
    /// @param disputes Disputes (the only caller of freeze and resolve).
    /// @param claimWindow_ Seconds after a grant's end before anyone may release its lock.
    /// @param royaltyBps_ Initial royalty a derived asset passes up its lineage.
    constructor(
        IERC20 token_,
        IParticipantRegistry participants,
        IAssetRegistry assets,
        IUsageGrants grants,
        IAnchorRegistry anchors,
        address disputes,
        uint32 claimWindow_,
        uint16 royaltyBps_
    ) EIP712("TDS Settlement", "1") {
        if (royaltyBps_ > BasisPoints.TOTAL) revert SettlementConfigInvalid();
        _token = token_;
        _participants = participants;
        _assets = assets;
        _grants = grants;
        _anchors = anchors;
        _disputes = disputes;
        _claimWindow = claimWindow_;
        _royaltyBps = royaltyBps_;
        emit RoyaltySet(royaltyBps_);
    }

    // ---- consumers and owners ----

    /// @inheritdoc ISettlement
    function deposit(uint256 amount) external {
        _token.safeTransferFrom(msg.sender, address(this), amount);
        _deposits[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
    }

    /// @inheritdoc ISettlement
    function withdrawDeposit(uint256 amount) external {
        uint256 free = _deposits[msg.sender];
        if (amount > free) revert SettlementInsufficientBalance(msg.sender, amount, free);
        _deposits[msg.sender] = free - amount;
        emit Withdrawn(msg.sender, amount, false);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc ISettlement
    function withdraw(uint256 amount) external {
        uint256 earned = _earnings[msg.sender];
        if (amount > earned) revert SettlementInsufficientBalance(msg.sender, amount, earned);
        _earnings[msg.sender] = earned - amount;
        emit Withdrawn(msg.sender, amount, true);
        _token.safeTransfer(msg.sender, amount);
    }

    // ---- providers ----

    /// @inheritdoc ISettlement
    function settle(
        uint32 periodStart,
        uint32 periodEnd,
        bytes32 receiptsRoot,
        Claim[] calldata claims,
        Split[] calldata splits
    ) external {
        if (periodEnd <= periodStart || periodEnd > block.timestamp) {
            revert SettlementPeriodInvalid(bytes32(0), periodStart, periodEnd);
        }
        _participants.requireActive(msg.sender, Roles.PROVIDER);
        address[] memory providers = _verifySplits(splits);
        Period memory period = Period(periodStart, periodEnd, receiptsRoot);
        uint256 perUseUnits = 0;
        for (uint256 i = 0; i < claims.length; ++i) {
            perUseUnits += _settleOne(period, claims[i], splits, providers);
        }
        if (perUseUnits != 0) {
            IAnchorRegistry.Anchor memory anchor = _anchors.getAnchor(msg.sender, receiptsRoot);
            if (anchor.anchorer == address(0) || anchor.kind != KIND_RECEIPTS) revert SettlementRootNotAnchored(receiptsRoot);
            if (perUseUnits > anchor.leafCount) revert SettlementUnitsExceedRoot(perUseUnits, anchor.leafCount);
        }
    }

    /// @inheritdoc ISettlement
    function release(bytes32 grantId) external {
        Account storage a = _accounts[grantId];
        if (a.consumer == address(0)) revert SettlementUnknownGrant(grantId);
        if (a.frozen || a.released) revert EscrowNotReleasable(grantId);
        IUsageGrants.Grant memory g = _grants.getGrant(grantId);
        bool ended = g.status == IUsageGrants.GrantStatus.Revoked || block.timestamp >= g.notAfter;
        (address provider,,) = _assets.payoutOf(a.assetId);
        bool byProvider = msg.sender == provider && ended;
        bool afterWindow = block.timestamp >= uint256(g.notAfter) + _claimWindow;
        if (!byProvider && !afterWindow) revert EscrowNotReleasable(grantId);
        uint256 amount = a.locked;
        a.locked = 0;
        a.released = true;
        _deposits[a.consumer] += amount;
        emit EscrowReleased(grantId, a.consumer, amount, msg.sender);
    }

    // ---- UsageGrants / Disputes ----

    /// @inheritdoc ISettlement
    function openAccount(
        bytes32 grantId,
        bytes32 assetId,
        address consumer,
        IUsageGrants.Pricing calldata pricing,
        uint256 lockAmount
    ) external {
        if (msg.sender != address(_grants)) revert SettlementUnauthorized(msg.sender);
        uint256 free = _deposits[consumer];
        if (lockAmount > free) revert EscrowDepositTooSmall(consumer, lockAmount, free);
        if (lockAmount > type(uint96).max) revert EscrowDepositTooSmall(consumer, lockAmount, type(uint96).max);
        if (lockAmount != 0) _deposits[consumer] = free - lockAmount;
        Account storage a = _accounts[grantId];
        a.consumer = consumer;
        a.priceModel = pricing.priceModel;
        a.freeUses = pricing.freeUses;
        a.price = pricing.price;
        a.locked = uint96(lockAmount);
        a.period = pricing.period;
        a.assetId = assetId;
        emit EscrowLocked(grantId, assetId, consumer, pricing.priceModel, pricing.price, lockAmount);
    }

    /// @inheritdoc ISettlement
    function onRevoked(bytes32 grantId, address provider) external {
        if (msg.sender != address(_grants)) revert SettlementUnauthorized(msg.sender);
        Account storage a = _accounts[grantId];
        if (a.consumer == address(0) || a.priceModel != IUsageGrants.PriceModel.Subscription) return;
        uint256 keep = _periodsDue(grantId, a, uint32(block.timestamp)) * a.price; // periods started so far
        uint256 locked = a.locked;
        if (locked <= keep) return;
        a.locked = uint96(keep);
        _deposits[a.consumer] += locked - keep;
        emit EscrowReleased(grantId, a.consumer, locked - keep, provider);
    }

    /// @inheritdoc ISettlement
    function freeze(bytes32 grantId) external {
        if (msg.sender != _disputes) revert SettlementUnauthorized(msg.sender);
        Account storage a = _accounts[grantId];
        if (a.consumer == address(0)) return;
        a.frozen = true;
        emit AccountFrozen(grantId, true);
    }

    /// @inheritdoc ISettlement
    function resolve(bytes32 grantId, address consumer, address provider, uint256 refund) external {
        if (msg.sender != _disputes) revert SettlementUnauthorized(msg.sender);
        Account storage a = _accounts[grantId];
        uint256 locked = a.locked;
        uint256 fromLock = refund < locked ? refund : locked;
        uint256 fromProvider = refund - fromLock;
        uint256 earned = _earnings[provider];
        if (fromProvider > earned) revert SettlementRefundUnfunded(grantId, refund, locked + earned);
        if (fromLock != 0) a.locked = uint96(locked - fromLock);
        if (fromProvider != 0) _earnings[provider] = earned - fromProvider;
        if (refund != 0) {
            _deposits[consumer] += refund;
            emit Refunded(grantId, consumer, fromLock, fromProvider);
        }
        if (a.frozen) {
            a.frozen = false;
            emit AccountFrozen(grantId, false);
        }
    }

    // ---- operator ----

    /// @inheritdoc ISettlement
    function setRoyalty(uint16 royaltyBps_) external {
        if (!IAccessControl(address(_participants)).hasRole(OPERATOR_ROLE, msg.sender)) revert SettlementConfigInvalid();
        if (royaltyBps_ > BasisPoints.TOTAL) revert SettlementConfigInvalid();
        _royaltyBps = royaltyBps_;
        emit RoyaltySet(royaltyBps_);
    }

    // ---- views ----

    /// @inheritdoc ISettlement
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ISettlement
    function accountOf(bytes32 grantId) external view returns (Account memory) {
        return _accounts[grantId];
    }

    /// @inheritdoc ISettlement
    function depositOf(address consumer) external view returns (uint256) {
        return _deposits[consumer];
    }

    /// @inheritdoc ISettlement
    function earningsOf(address owner) external view returns (uint256) {
        return _earnings[owner];
    }

    /// @inheritdoc ISettlement
    function trialUsed(bytes32 assetId, address consumer) external view returns (uint256) {
        return _trialUsed[_trialKey(assetId, consumer)];
    }

    /// @inheritdoc ISettlement
    function royaltyBps() external view returns (uint16) {
        return _royaltyBps;
    }

    /// @inheritdoc ISettlement
    function claimWindow() external view returns (uint32) {
        return _claimWindow;
    }

    /// @inheritdoc ISettlement
    function hashStatement(
        bytes32 grantId,
        uint32 periodStart,
        uint32 periodEnd,
        uint32 units,
        uint256 amount,
        bytes32 receiptsRoot
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(USAGE_STATEMENT_TYPEHASH, grantId, periodStart, periodEnd, units, amount, receiptsRoot))
        );
    }

    // ---- internals ----

    /// @dev Checks every split against the registry (owners/shares hash, parents hash); returns providers.
    function _verifySplits(Split[] calldata splits) private view returns (address[] memory providers) {
        providers = new address[](splits.length);
        for (uint256 k = 0; k < splits.length; ++k) {
            Split calldata s = splits[k];
            (address provider, bytes32 ownersHash, bytes32 parentsHash) = _assets.payoutOf(s.assetId);
            if (provider == address(0)) revert SettlementSplitMismatch(s.assetId);
            bytes32 givenOwners = s.owners.length == 0 && s.sharesBps.length == 0
                ? bytes32(0)
                : keccak256(abi.encode(s.owners, s.sharesBps));
            if (givenOwners != ownersHash) revert SettlementSplitMismatch(s.assetId);
            bytes32 givenParents = bytes32(0);
            if (s.parents.length != 0) {
                bytes32[] memory ids = new bytes32[](s.parents.length);
                for (uint256 j = 0; j < s.parents.length; ++j) {
                    ids[j] = splits[s.parents[j]].assetId; // an index out of range reverts
                }
                givenParents = keccak256(abi.encode(ids));
            }
            if (givenParents != parentsHash) revert SettlementSplitMismatch(s.assetId);
            providers[k] = provider;
        }
    }

    /// @dev Settles one claim; returns the per-use units it adds to the batch's root check.
    function _settleOne(Period memory period, Claim calldata c, Split[] calldata splits, address[] memory providers)
        private
        returns (uint256 perUseUnits)
    {
        Account storage a = _accounts[c.grantId];
        if (a.consumer == address(0)) revert SettlementUnknownGrant(c.grantId);
        if (splits[c.split].assetId != a.assetId) revert SettlementSplitMismatch(a.assetId);
        if (providers[c.split] != msg.sender) revert SettlementNotProvider(c.grantId, msg.sender);
        uint32 settledUntil = a.settledUntil;
        if (period.end <= settledUntil) return 0; // settled before: re-running a period is a no-op
        if (period.start < settledUntil) revert SettlementPeriodInvalid(c.grantId, period.start, period.end);
        if (a.frozen) {
            emit SettlementDeferred(c.grantId, period.end);
            return 0;
        }
        (uint256 amount, uint32 freeUnits, bytes32 root) = _charge(period, c, a);
        if (root != bytes32(0)) perUseUnits = c.units;
        a.settledUntil = period.end;
        a.units += c.units;
        _emitSettled(c, a, period, freeUnits, amount, root);
        if (amount != 0) _pay(c.grantId, c.split, amount, 0, splits, providers);
    }

    function _emitSettled(
        Claim calldata c,
        Account storage a,
        Period memory period,
        uint32 freeUnits,
        uint256 amount,
        bytes32 root
    ) private {
        emit UsageSettled(c.grantId, a.assetId, a.consumer, period.start, period.end, c.units, freeUnits, amount, root);
    }

    /// @dev What a claim costs, taken from the lock (Prepaid, Subscription) or, against the consumer's
    ///      signed statement, from its wallet (PayAfterUse). `root` is 0 for Subscription (time, not use).
    function _charge(Period memory period, Claim calldata c, Account storage a)
        private
        returns (uint256 amount, uint32 freeUnits, bytes32 root)
    {
        IUsageGrants.PriceModel model = a.priceModel;
        if (model == IUsageGrants.PriceModel.Subscription) {
            uint256 expected = _periodsDue(c.grantId, a, period.end);
            if (c.units != expected) revert SettlementUnitsInvalid(c.grantId, c.units, expected);
            amount = expected * a.price;
            _claimLock(c.grantId, a, amount);
            return (amount, 0, bytes32(0));
        }
        if (c.units == 0) revert SettlementUnitsInvalid(c.grantId, 0, 1);
        if (a.freeUses != 0 || model == IUsageGrants.PriceModel.PayAfterUse) {
            // a Prepaid grant without a trial is capped by its lock (maxCount x price) already
            uint256 cap = _grants.getGrant(c.grantId).maxCount;
            uint256 left = cap > a.units ? cap - a.units : 0;
            if (c.units > left) revert SettlementUnitsInvalid(c.grantId, c.units, left);
        }
        root = period.root;
        if (root == bytes32(0)) revert SettlementRootNotAnchored(root);
        freeUnits = _takeTrial(a, c.units);
        amount = uint256(c.units - freeUnits) * a.price;
        if (model == IUsageGrants.PriceModel.Prepaid) {
            _claimLock(c.grantId, a, amount);
            return (amount, freeUnits, root);
        }
        address consumer = a.consumer;
        bytes32 digest = hashStatement(c.grantId, period.start, period.end, c.units, amount, root);
        if (!SignatureChecker.isValidSignatureNow(consumer, digest, c.statement)) {
            revert SettlementInvalidStatement(c.grantId, consumer);
        }
        if (amount != 0) _token.safeTransferFrom(consumer, address(this), amount);
    }

    function _claimLock(bytes32 grantId, Account storage a, uint256 amount) private {
        uint256 locked = a.locked;
        if (amount > locked) revert SettlementExceedsLock(grantId, amount, locked);
        a.locked = uint96(locked - amount);
    }

    /// @dev Subscription: periods started by min(periodEnd, notAfter), less those charged before.
    function _periodsDue(bytes32 grantId, Account storage a, uint32 periodEnd) private view returns (uint256) {
        IUsageGrants.Grant memory g = _grants.getGrant(grantId);
        uint256 end = periodEnd < g.notAfter ? periodEnd : g.notAfter;
        if (end <= g.notBefore) return 0;
        uint256 started = (end - g.notBefore + a.period - 1) / a.period;
        uint256 due = started > a.units ? started - a.units : 0;
        uint256 funded = a.locked / a.price; // after a revocation or a refund: only what is still locked
        return due < funded ? due : funded;
    }

    /// @dev Free-trial units of this claim (a consumer's first `freeUses` uses of the asset).
    function _takeTrial(Account storage a, uint32 units) private returns (uint32 free) {
        uint24 freeUses = a.freeUses;
        if (freeUses == 0) return 0;
        bytes32 key = _trialKey(a.assetId, a.consumer);
        uint256 used = _trialUsed[key];
        if (used >= freeUses) return 0;
        uint256 left = freeUses - used;
        free = units < left ? units : uint32(left);
        _trialUsed[key] = used + free;
    }

    /// @dev Pays `amount` of split `k`: a royalty to its parents (equal parts, recursively, bounded), the
    ///      rest to its owners by their shares (rounding dust to the first owner; the provider if none).
    function _pay(
        bytes32 grantId,
        uint256 k,
        uint256 amount,
        uint8 depth,
        Split[] calldata splits,
        address[] memory providers
    ) private {
        Split calldata s = splits[k];
        uint256 royalty = 0;
        uint256 nParents = s.parents.length;
        if (nParents != 0 && depth < MAX_ROYALTY_DEPTH) royalty = amount * _royaltyBps / BasisPoints.TOTAL;
        uint256 own = amount - royalty;
        if (s.owners.length == 0) {
            _credit(grantId, s.assetId, providers[k], own, depth);
        } else {
            uint256 paid = 0;
            for (uint256 i = 1; i < s.owners.length; ++i) {
                uint256 part = own * s.sharesBps[i] / BasisPoints.TOTAL;
                paid += part;
                _credit(grantId, s.assetId, s.owners[i], part, depth);
            }
            _credit(grantId, s.assetId, s.owners[0], own - paid, depth);
        }
        if (royalty == 0) return;
        uint256 each = royalty / nParents;
        for (uint256 j = 0; j < nParents; ++j) {
            uint256 part = j == 0 ? royalty - each * (nParents - 1) : each;
            if (part != 0) _pay(grantId, s.parents[j], part, depth + 1, splits, providers);
        }
    }

    function _credit(bytes32 grantId, bytes32 assetId, address owner, uint256 amount, uint8 depth) private {
        if (amount == 0) return;
        _earnings[owner] += amount;
        emit RevenuePaid(grantId, assetId, owner, amount, depth);
    }

    function _trialKey(bytes32 assetId, address consumer) private pure returns (bytes32) {
        return keccak256(abi.encode(assetId, consumer));
    }
}
