// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IUsageGrants} from "./interfaces/IUsageGrants.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title UsageGrants
/// @notice Providers publish usage policies; grants record a consumer's signed consent to a policy.
/// @dev The grant id is the EIP-712 digest of the signed request, so one signature yields at most one grant
///      (replay-safe without a nonce table) and the id commits to every term the consumer signed.
contract UsageGrants is IUsageGrants, EIP712 {
    /// @notice EIP-712 type hash of GrantRequest.
    bytes32 public constant GRANT_REQUEST_TYPEHASH = keccak256(
        "GrantRequest(bytes32 assetId,address consumer,string purpose,uint32 notBefore,uint32 notAfter,uint24 maxCount,uint96 pricePerAccess,uint256 nonce,uint32 deadline,uint32 policyEpoch)"
    );
    /// @notice EIP-712 type hash of GrantAcceptance (what the provider signs).
    bytes32 public constant GRANT_ACCEPTANCE_TYPEHASH = keccak256("GrantAcceptance(bytes32 grantId,address provider)");
    /// @dev ParticipantRegistry's OPERATOR_ROLE.
    bytes32 private constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    IParticipantRegistry private immutable _participants;
    IAssetRegistry private immutable _assets;

    /// @dev One slot: a policy's terms. Its money terms live in _pricing (paid models only), so a free
    ///      grant reads one slot and a paid one two.
    struct StoredPolicy {
        uint32 notBefore;
        uint32 notAfter;
        uint24 maxCount;
        uint96 pricePerAccess; // 0 exactly when the model is Free (_checkPricing)
        bool computeOnly;
        bool autoApprove;
        bool anyPurpose;
        bool anyJurisdiction;
        uint32 epoch;
    }

    mapping(bytes32 assetId => StoredPolicy) private _policies;
    /// @dev keccak256(assetId, epoch, purposeHash | jurisdiction) => allowed
    mapping(bytes32 key => bool) private _allowed;
    mapping(bytes32 grantId => Grant) private _grants;
    /// @dev assetId => epoch => money terms of the policy set at that epoch (written only for paid models)
    mapping(bytes32 assetId => mapping(uint32 epoch => Pricing)) private _pricing;
    ISettlement private _settlement;

    /// @param participants The ParticipantRegistry.
    /// @param assets The AssetRegistry.
    constructor(IParticipantRegistry participants, IAssetRegistry assets) EIP712("TDS UsageGrants", "1") {
        _participants = participants;
        _assets = assets;
    }

    /// @inheritdoc IUsageGrants
    function setPolicy(bytes32 assetId, Policy calldata policy, string[] calldata purposes, bytes2[] calldata jurisdictions)
        external
    {
        _requireProvider(assetId);
        if (policy.notAfter != 0 && policy.notAfter <= policy.notBefore) {
            revert GrantWindowInvalid(policy.notBefore, policy.notAfter);
        }
        if (purposes.length > type(uint8).max || jurisdictions.length > type(uint8).max) {
            revert GrantPolicyInvalid(assetId);
        }
        _checkPricing(assetId, policy);
        StoredPolicy storage p = _policies[assetId];
        uint32 epoch = p.epoch + 1;
        p.notBefore = policy.notBefore;
        p.notAfter = policy.notAfter;
        p.maxCount = policy.maxCount;
        p.pricePerAccess = policy.pricePerAccess;
        p.computeOnly = policy.computeOnly;
        p.autoApprove = policy.autoApprove;
        p.anyPurpose = purposes.length == 0;
        p.anyJurisdiction = jurisdictions.length == 0;
        p.epoch = epoch;
        if (policy.priceModel != PriceModel.Free) {
            _pricing[assetId][epoch] = Pricing(policy.priceModel, policy.freeUses, policy.period, policy.pricePerAccess);
        }
        for (uint256 i = 0; i < purposes.length; ++i) {
            _allowed[_purposeKey(assetId, epoch, purposes[i])] = true;
        }
        for (uint256 i = 0; i < jurisdictions.length; ++i) {
            _allowed[_jurisdictionKey(assetId, epoch, jurisdictions[i])] = true;
        }
        emit PolicySet(
            assetId,
            epoch,
            policy.notBefore,
            policy.notAfter,
            policy.maxCount,
            policy.pricePerAccess,
            policy.computeOnly,
            policy.autoApprove,
            purposes,
            jurisdictions
        );
        emit PricingSet(assetId, epoch, policy.priceModel, policy.freeUses, policy.period);
    }

    /// @inheritdoc IUsageGrants
    function issueGrant(GrantRequest calldata request, bytes calldata signature, bytes calldata acceptance)
        external
        returns (bytes32 grantId)
    {
        bytes32 assetId = request.assetId;
        _requireProvider(assetId);
        StoredPolicy memory p = _policies[assetId];
        if (p.epoch == 0) revert GrantPolicyMissing(assetId);
        if (request.policyEpoch != p.epoch) revert GrantPolicyChanged(request.policyEpoch, p.epoch);
        if (request.deadline < block.timestamp) revert GrantRequestExpired(request.deadline);
        _checkTerms(assetId, p, request);
        bytes2 jurisdiction = _participants.requireActive(request.consumer, Roles.CONSUMER);
        if (!p.anyJurisdiction && !_allowed[_jurisdictionKey(assetId, p.epoch, jurisdiction)]) {
            revert GrantJurisdictionNotAllowed(assetId, jurisdiction);
        }
        grantId = _hashRequest(request);
        if (!SignatureChecker.isValidSignatureNow(request.consumer, grantId, signature)) {
            revert GrantInvalidSignature(request.consumer);
        }
        if (!SignatureChecker.isValidSignatureNow(msg.sender, _hashAcceptance(grantId, msg.sender), acceptance)) {
            revert GrantInvalidAcceptance(msg.sender);
        }
        Grant storage g = _grants[grantId];
        if (g.status != GrantStatus.None) revert GrantAlreadyIssued(grantId);
        g.consumer = request.consumer;
        g.notBefore = request.notBefore;
        g.notAfter = request.notAfter;
        g.maxCount = request.maxCount;
        g.status = GrantStatus.Active;
        _emitIssued(grantId, request, signature);
        emit GrantAccepted(grantId, msg.sender, p.epoch, acceptance);
        if (p.pricePerAccess != 0) _openAccount(grantId, request, _pricing[assetId][p.epoch]);
    }

    /// @inheritdoc IUsageGrants
    function bindSettlement(address settlement_) external {
        if (address(_settlement) != address(0) || settlement_ == address(0)) revert GrantBindUnauthorized(msg.sender);
        if (!IAccessControl(address(_participants)).hasRole(OPERATOR_ROLE, msg.sender)) {
            revert GrantBindUnauthorized(msg.sender);
        }
        _settlement = ISettlement(settlement_);
        emit SettlementBound(settlement_);
    }

    /// @inheritdoc IUsageGrants
    function settlement() external view returns (address) {
        return address(_settlement);
    }

    /// @inheritdoc IUsageGrants
    function pricingOf(bytes32 assetId, uint32 epoch) external view returns (Pricing memory) {
        return _pricing[assetId][epoch];
    }

    /// @inheritdoc IUsageGrants
    function hashAcceptance(bytes32 grantId, address provider) external view returns (bytes32) {
        return _hashAcceptance(grantId, provider);
    }

    /// @inheritdoc IUsageGrants
    function revokeGrant(GrantRequest calldata request) external returns (bytes32 grantId) {
        grantId = _hashRequest(request);
        Grant storage g = _grants[grantId];
        if (g.status == GrantStatus.None) revert GrantUnknown(grantId);
        bytes32 assetId = request.assetId;
        if (_assets.getAsset(assetId).provider != msg.sender) revert GrantNotProvider(assetId, msg.sender);
        if (g.status == GrantStatus.Revoked) revert GrantAlreadyRevoked(grantId);
        g.status = GrantStatus.Revoked;
        emit GrantRevoked(grantId, assetId, msg.sender);
        if (_pricing[assetId][request.policyEpoch].priceModel == PriceModel.Subscription) {
            _settlement.onRevoked(grantId, msg.sender); // unstarted periods go back to the consumer
        }
    }

    /// @inheritdoc IUsageGrants
    function requireGrant(GrantRequest calldata request) external view returns (bytes32 grantId, Grant memory grant) {
        grantId = _hashRequest(request);
        grant = _grants[grantId];
        if (grant.status == GrantStatus.None) revert GrantUnknown(grantId);
    }

    /// @inheritdoc IUsageGrants
    function getPolicy(bytes32 assetId) external view returns (Policy memory policy) {
        StoredPolicy memory p = _policies[assetId];
        Pricing memory money = _pricing[assetId][p.epoch];
        policy = Policy(
            p.notBefore,
            p.notAfter,
            p.maxCount,
            p.pricePerAccess,
            p.computeOnly,
            p.autoApprove,
            p.anyPurpose,
            p.anyJurisdiction,
            p.epoch,
            money.priceModel,
            money.freeUses,
            money.period
        );
    }

    /// @inheritdoc IUsageGrants
    function isPurposeAllowed(bytes32 assetId, string calldata purpose) external view returns (bool) {
        StoredPolicy storage p = _policies[assetId];
        if (p.epoch == 0) return false;
        return p.anyPurpose || _allowed[_purposeKey(assetId, p.epoch, purpose)];
    }

    /// @inheritdoc IUsageGrants
    function isJurisdictionAllowed(bytes32 assetId, bytes2 jurisdiction) external view returns (bool) {
        StoredPolicy storage p = _policies[assetId];
        if (p.epoch == 0) return false;
        return p.anyJurisdiction || _allowed[_jurisdictionKey(assetId, p.epoch, jurisdiction)];
    }

    /// @inheritdoc IUsageGrants
    function getGrant(bytes32 grantId) external view returns (Grant memory) {
        return _grants[grantId];
    }

    /// @inheritdoc IUsageGrants
    function liveness(bytes32 grantId) external view returns (Liveness) {
        Grant storage g = _grants[grantId];
        if (g.status == GrantStatus.None) return Liveness.Unknown;
        if (g.status == GrantStatus.Revoked) return Liveness.Revoked;
        if (block.timestamp < g.notBefore) return Liveness.NotYetValid;
        if (block.timestamp >= g.notAfter) return Liveness.Expired;
        return Liveness.Live;
    }

    /// @inheritdoc IUsageGrants
    function hashGrantRequest(GrantRequest calldata request) external view returns (bytes32) {
        return _hashRequest(request);
    }

    /// @dev Locks the price of a Prepaid (maxCount uses) or Subscription (every started period of the
    ///      window) grant; Settlement reverts, and so nothing is issued, when the deposit is too small.
    function _openAccount(bytes32 grantId, GrantRequest calldata r, Pricing memory money) private {
        uint256 lockAmount = 0;
        if (money.priceModel == PriceModel.Prepaid) {
            lockAmount = uint256(r.maxCount) * money.price;
        } else if (money.priceModel == PriceModel.Subscription) {
            uint256 periods = (uint256(r.notAfter - r.notBefore) + money.period - 1) / money.period;
            lockAmount = periods * money.price;
        }
        _settlement.openAccount(grantId, r.assetId, r.consumer, money, lockAmount);
    }

    function _checkPricing(bytes32 assetId, Policy calldata policy) private view {
        PriceModel m = policy.priceModel;
        bool paid = m != PriceModel.Free;
        if (paid != (policy.pricePerAccess != 0)) revert GrantPricingInvalid(assetId);
        if ((m == PriceModel.Subscription) != (policy.period != 0)) revert GrantPricingInvalid(assetId);
        if (policy.freeUses != 0 && m != PriceModel.Prepaid && m != PriceModel.PayAfterUse) revert GrantPricingInvalid(assetId);
        if (paid && address(_settlement) == address(0)) revert GrantSettlementUnbound();
    }

    function _hashAcceptance(bytes32 grantId, address provider) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(GRANT_ACCEPTANCE_TYPEHASH, grantId, provider)));
    }

    function _emitIssued(bytes32 grantId, GrantRequest calldata r, bytes calldata signature) private {
        emit GrantIssued(
            grantId,
            r.assetId,
            r.consumer,
            r.purpose,
            r.notBefore,
            r.notAfter,
            r.maxCount,
            r.pricePerAccess,
            r.nonce,
            r.deadline,
            r.policyEpoch,
            signature
        );
    }

    function _checkTerms(bytes32 assetId, StoredPolicy memory p, GrantRequest calldata r) private view {
        if (r.notAfter <= r.notBefore || r.notAfter <= block.timestamp) revert GrantWindowInvalid(r.notBefore, r.notAfter);
        if (r.notBefore < p.notBefore || (p.notAfter != 0 && r.notAfter > p.notAfter)) {
            revert GrantWindowInvalid(r.notBefore, r.notAfter);
        }
        if (r.maxCount == 0 || (p.maxCount != 0 && r.maxCount > p.maxCount)) revert GrantCountInvalid(r.maxCount, p.maxCount);
        if (r.pricePerAccess != p.pricePerAccess) revert GrantPriceMismatch(r.pricePerAccess, p.pricePerAccess);
        if (!p.anyPurpose && !_allowed[_purposeKey(assetId, p.epoch, r.purpose)]) {
            revert GrantPurposeNotAllowed(assetId, r.purpose);
        }
    }

    function _hashRequest(GrantRequest calldata r) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    GRANT_REQUEST_TYPEHASH,
                    r.assetId,
                    r.consumer,
                    keccak256(bytes(r.purpose)),
                    r.notBefore,
                    r.notAfter,
                    r.maxCount,
                    r.pricePerAccess,
                    r.nonce,
                    r.deadline,
                    r.policyEpoch
                )
            )
        );
    }

    function _requireProvider(bytes32 assetId) private view {
        address provider = _assets.requireActiveAsset(assetId);
        if (provider != msg.sender) revert GrantNotProvider(assetId, msg.sender);
        _participants.requireActive(msg.sender, Roles.PROVIDER);
    }

    function _purposeKey(bytes32 assetId, uint32 epoch, string calldata purpose) private pure returns (bytes32) {
        return keccak256(abi.encode(assetId, epoch, uint8(1), keccak256(bytes(purpose))));
    }

    function _jurisdictionKey(bytes32 assetId, uint32 epoch, bytes2 jurisdiction) private pure returns (bytes32) {
        return keccak256(abi.encode(assetId, epoch, uint8(2), jurisdiction));
    }
}
