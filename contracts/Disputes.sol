// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IDisputes} from "./interfaces/IDisputes.sol";
import {IUsageGrants} from "./interfaces/IUsageGrants.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";

/// @title Disputes
/// @notice 争议仲裁: parties open disputes on grants or settled periods with evidence; the arbiter rules and
///         Settlement moves the refund. One open dispute per grant; it freezes the grant's settlement.
contract Disputes is IDisputes {
    bytes32 private constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    IAccessControl private immutable _participants;
    IUsageGrants private immutable _grants;
    IAssetRegistry private immutable _assets;
    ISettlement private _settlement;
    address private _arbitrator;

    mapping(uint256 disputeId => DisputeRecord) private _disputes;
    mapping(bytes32 grantId => uint256) private _open;
    uint256 private _count;

    /// @param participants ParticipantRegistry (its operators configure and, without an arbitrator, rule).
    /// @param grants UsageGrants.
    /// @param assets AssetRegistry.
    constructor(address participants, IUsageGrants grants, IAssetRegistry assets) {
        _participants = IAccessControl(participants);
        _grants = grants;
        _assets = assets;
    }

    /// @inheritdoc IDisputes
    function open(
        IUsageGrants.GrantRequest calldata request,
        Subject subject,
        uint32 periodEnd,
        bytes32 evidenceHash,
        string calldata evidenceURI
    ) external returns (uint256 disputeId) {
        if (evidenceHash == bytes32(0)) revert DisputeEvidenceMissing();
        (bytes32 grantId, IUsageGrants.Grant memory g) = _grants.requireGrant(request);
        address provider = _assets.getAsset(request.assetId).provider;
        if (msg.sender != g.consumer && msg.sender != provider) revert DisputeNotParty(grantId, msg.sender);
        uint256 current = _open[grantId];
        if (current != 0) revert DisputeAlreadyOpen(grantId, current);
        disputeId = ++_count;
        DisputeRecord storage d = _disputes[disputeId];
        d.grantId = grantId;
        d.consumer = g.consumer;
        d.provider = provider;
        d.openedBy = msg.sender;
        d.openedAt = uint32(block.timestamp);
        d.periodEnd = subject == Subject.Settlement ? periodEnd : 0;
        d.subject = subject;
        d.status = Status.Open;
        d.evidenceHash = evidenceHash;
        _open[grantId] = disputeId;
        _settlement.freeze(grantId);
        address arbiter = _arbitrator;
        emit Dispute(arbiter, disputeId, uint256(grantId), disputeId);
        emit DisputeOpened(disputeId, grantId, msg.sender, subject, d.periodEnd, evidenceHash);
        emit Evidence(arbiter, disputeId, msg.sender, evidenceURI);
        emit EvidenceSubmitted(disputeId, msg.sender, evidenceHash);
    }

    /// @inheritdoc IDisputes
    function submitEvidence(uint256 disputeId, bytes32 evidenceHash, string calldata evidenceURI) external {
        if (evidenceHash == bytes32(0)) revert DisputeEvidenceMissing();
        DisputeRecord storage d = _disputes[disputeId];
        if (d.status != Status.Open) revert DisputeNotOpen(disputeId);
        if (msg.sender != d.consumer && msg.sender != d.provider && !_isArbiter(msg.sender)) {
            revert DisputeNotParty(d.grantId, msg.sender);
        }
        emit Evidence(_arbitrator, disputeId, msg.sender, evidenceURI);
        emit EvidenceSubmitted(disputeId, msg.sender, evidenceHash);
    }

    /// @inheritdoc IDisputes
    function rule(uint256 disputeId, uint256 ruling, uint256 refund) external {
        if (!_isArbiter(msg.sender)) revert DisputeNotArbiter(msg.sender);
        DisputeRecord storage d = _disputes[disputeId];
        if (d.status != Status.Open) revert DisputeNotOpen(disputeId);
        if (ruling > uint256(Verdict.Refund)) revert DisputeRulingInvalid(ruling, refund);
        Verdict r = Verdict(ruling);
        if ((r == Verdict.Refund) != (refund != 0)) revert DisputeRulingInvalid(ruling, refund);
        d.status = Status.Ruled;
        d.ruling = r;
        d.refund = refund;
        delete _open[d.grantId];
        _settlement.resolve(d.grantId, d.consumer, d.provider, refund);
        emit Ruling(msg.sender, disputeId, ruling);
        emit DisputeRuled(disputeId, d.grantId, r, refund, msg.sender);
    }

    /// @inheritdoc IDisputes
    function setArbitrator(address arbitrator_) external {
        if (!_participants.hasRole(OPERATOR_ROLE, msg.sender)) revert DisputeConfigUnauthorized(msg.sender);
        _arbitrator = arbitrator_;
        emit ArbitratorSet(arbitrator_);
    }

    /// @inheritdoc IDisputes
    function bindSettlement(address settlement_) external {
        if (!_participants.hasRole(OPERATOR_ROLE, msg.sender) || address(_settlement) != address(0) || settlement_ == address(0)) {
            revert DisputeConfigUnauthorized(msg.sender);
        }
        _settlement = ISettlement(settlement_);
    }

    /// @inheritdoc IDisputes
    function getDispute(uint256 disputeId) external view returns (DisputeRecord memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IDisputes
    function openDisputeOf(bytes32 grantId) external view returns (uint256) {
        return _open[grantId];
    }

    /// @inheritdoc IDisputes
    function disputeCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc IDisputes
    function arbitrator() external view returns (address) {
        return _arbitrator;
    }

    function _isArbiter(address caller) private view returns (bool) {
        address arbitrator_ = _arbitrator;
        if (arbitrator_ != address(0)) return caller == arbitrator_;
        return _participants.hasRole(OPERATOR_ROLE, caller);
    }
}
