// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IUsageGrants} from "./IUsageGrants.sol";

/// @title IDisputes
/// @notice Dispute arbitration (争议仲裁) over grants and their settlements. A party (the grant's consumer or
///         its asset's provider) opens a dispute with an evidence hash; both parties add evidence; the
///         arbiter rules: uphold, or refund part or all. While a dispute is open the grant's settlement
///         and escrow release wait. Events follow ERC-1497 (Dispute, Evidence) and ERC-792 (Ruling), with
///         this contract as the arbitrable and the arbiter as `_arbitrator`.
/// @dev The arbiter is the configured arbitrator contract when one is set (ERC-792 style), else any
///      operator of the ParticipantRegistry.
interface IDisputes {
    enum Subject {
        Grant, // the use itself (terms not honoured, data not as registered)
        Settlement // a settled period (units or amount)
    }

    enum Status {
        None,
        Open,
        Ruled
    }

    /// @notice ERC-792 rulings: 0 refused to arbitrate (treated as upheld), 1 upheld, 2 refund.
    enum Verdict {
        Refused,
        Upheld,
        Refund
    }

    /// @notice A dispute's record.
    struct DisputeRecord {
        bytes32 grantId;
        address consumer;
        address provider;
        address openedBy;
        uint32 openedAt;
        uint32 periodEnd; // Subject.Settlement: the settled period's end; 0 otherwise
        Subject subject;
        Status status;
        Verdict ruling;
        uint256 refund;
        bytes32 evidenceHash; // the opener's evidence
    }

    /// @notice `caller` is neither the grant's consumer nor its asset's provider.
    /// @param grantId The grant.
    /// @param caller The sender.
    error DisputeNotParty(bytes32 grantId, address caller);
    /// @notice A dispute on this grant is already open.
    /// @param grantId The grant.
    /// @param disputeId The open dispute.
    error DisputeAlreadyOpen(bytes32 grantId, uint256 disputeId);
    /// @notice No such dispute, or it is not open.
    /// @param disputeId The dispute.
    error DisputeNotOpen(uint256 disputeId);
    /// @notice Only the arbiter (the arbitrator contract if set, else an operator) may rule.
    /// @param caller The sender.
    error DisputeNotArbiter(address caller);
    /// @notice The ruling and refund do not fit (upheld with a refund, refund of zero).
    /// @param ruling The ruling.
    /// @param refund The refund.
    error DisputeRulingInvalid(uint256 ruling, uint256 refund);
    /// @notice An evidence hash must not be zero.
    error DisputeEvidenceMissing();
    /// @notice Only an operator may configure the arbitrator or bind Settlement (once).
    /// @param caller The sender.
    error DisputeConfigUnauthorized(address caller);

    /// @notice ERC-1497: a dispute was created.
    /// @param _arbitrator The arbiter at opening (this contract's operator arbiter is address(0)).
    /// @param _disputeID The dispute id.
    /// @param _metaEvidenceID Meta-evidence id (the grant's agreement: its grant id as a number).
    /// @param _evidenceGroupID Evidence group (the dispute id).
    event Dispute(address indexed _arbitrator, uint256 indexed _disputeID, uint256 _metaEvidenceID, uint256 _evidenceGroupID);
    /// @notice ERC-1497: evidence was submitted.
    /// @param _arbitrator The arbiter.
    /// @param _evidenceGroupID The dispute id.
    /// @param _party Who submitted it.
    /// @param _evidence URI of the evidence document.
    event Evidence(address indexed _arbitrator, uint256 indexed _evidenceGroupID, address indexed _party, string _evidence);
    /// @notice ERC-792: the arbiter ruled.
    /// @param _arbitrator The arbiter.
    /// @param _disputeID The dispute id.
    /// @param _ruling The ruling.
    event Ruling(address indexed _arbitrator, uint256 indexed _disputeID, uint256 _ruling);
    /// @notice A dispute was opened on a grant (TDS detail beside the ERC-1497 event).
    /// @param disputeId The dispute id.
    /// @param grantId The grant.
    /// @param openedBy The party.
    /// @param subject Grant or Settlement.
    /// @param periodEnd The settled period's end (Settlement), else 0.
    /// @param evidenceHash Hash of the opener's evidence.
    event DisputeOpened(
        uint256 indexed disputeId, bytes32 indexed grantId, address indexed openedBy, Subject subject, uint32 periodEnd, bytes32 evidenceHash
    );
    /// @notice Evidence hash beside the ERC-1497 Evidence event.
    /// @param disputeId The dispute.
    /// @param party Who submitted it.
    /// @param evidenceHash Its hash.
    event EvidenceSubmitted(uint256 indexed disputeId, address indexed party, bytes32 evidenceHash);
    /// @notice The dispute was ruled and its refund carried out.
    /// @param disputeId The dispute.
    /// @param grantId The grant.
    /// @param ruling The ruling.
    /// @param refund Token units refunded to the consumer.
    /// @param by The arbiter.
    event DisputeRuled(uint256 indexed disputeId, bytes32 indexed grantId, Verdict ruling, uint256 refund, address by);
    /// @notice The operator set (or cleared) the arbitrator contract.
    /// @param arbitrator The arbitrator (zero: operators rule).
    event ArbitratorSet(address arbitrator);

    /// @notice Open a dispute on a grant (its consumer or its asset's provider).
    /// @param request The signed request the grant was issued for.
    /// @param subject Grant or Settlement.
    /// @param periodEnd For Settlement: the settled period's end; else 0.
    /// @param evidenceHash Hash of the evidence document (non-zero).
    /// @param evidenceURI Where the evidence document is.
    /// @return disputeId The new dispute's id (from 1).
    function open(
        IUsageGrants.GrantRequest calldata request,
        Subject subject,
        uint32 periodEnd,
        bytes32 evidenceHash,
        string calldata evidenceURI
    ) external returns (uint256 disputeId);

    /// @notice Add evidence to an open dispute (either party or the arbiter).
    /// @param disputeId The dispute.
    /// @param evidenceHash Hash of the evidence document (non-zero).
    /// @param evidenceURI Where it is.
    function submitEvidence(uint256 disputeId, bytes32 evidenceHash, string calldata evidenceURI) external;

    /// @notice Rule an open dispute (the arbiter): Upheld (refund 0) or Refund (refund > 0, from the grant's
    ///         lock, then the provider's earnings). Unfreezes the grant.
    /// @param disputeId The dispute.
    /// @param ruling 1 upheld, 2 refund (0, refused, counts as upheld).
    /// @param refund Token units to refund to the consumer.
    function rule(uint256 disputeId, uint256 ruling, uint256 refund) external;

    /// @notice Set the arbitrator contract (an operator; zero: operators rule).
    /// @param arbitrator Its address.
    function setArbitrator(address arbitrator) external;

    /// @notice Bind the Settlement contract (once; an operator).
    /// @param settlement Its address.
    function bindSettlement(address settlement) external;

    /// @notice A dispute (status None when unknown).
    /// @param disputeId The dispute.
    /// @return The record.
    function getDispute(uint256 disputeId) external view returns (DisputeRecord memory);

    /// @notice The open dispute on a grant (0 when none).
    /// @param grantId The grant.
    /// @return The dispute id.
    function openDisputeOf(bytes32 grantId) external view returns (uint256);

    /// @notice Disputes opened so far (ids run from 1 to this).
    /// @return The count.
    function disputeCount() external view returns (uint256);

    /// @notice The current arbiter contract (zero when operators rule).
    /// @return Its address.
    function arbitrator() external view returns (address);
}
