// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IUsageGrants
/// @notice Usage policies per asset and grants that carry the consumer's EIP-712 consent.
interface IUsageGrants {
    /// @notice The terms a provider offers for an asset (0 means "no limit" for window and count).
    struct Policy {
        uint32 notBefore;
        uint32 notAfter;
        uint24 maxCount; // per-grant cap on accesses
        uint96 pricePerAccess; // in settlement-token units
        bool computeOnly;
        bool autoApprove;
        bool anyPurpose;
        bool anyJurisdiction;
        uint32 epoch; // bumped by every setPolicy; 0 = no policy
    }

    /// @notice What a consumer signs (EIP-712 primary type "GrantRequest").
    struct GrantRequest {
        bytes32 assetId;
        address consumer;
        string purpose;
        uint32 notBefore;
        uint32 notAfter;
        uint24 maxCount;
        uint96 pricePerAccess;
        uint256 nonce;
        uint32 deadline;
    }

    enum GrantStatus {
        None,
        Active,
        Revoked
    }

    /// @notice A grant's on-chain state (one storage slot). The grant id is the EIP-712 digest of its
    ///         request, so the id commits to every term (asset, purpose, price, nonce); functions that need
    ///         those terms take the request as calldata and recompute the id.
    struct Grant {
        address consumer;
        uint32 notBefore;
        uint32 notAfter;
        uint24 maxCount;
        GrantStatus status;
    }

    /// @notice Why a grant is or is not live right now.
    enum Liveness {
        Live,
        Unknown,
        Revoked,
        NotYetValid,
        Expired
    }

    error GrantNotProvider(bytes32 assetId, address caller);
    error GrantPolicyMissing(bytes32 assetId);
    error GrantInvalidSignature(address consumer);
    error GrantRequestExpired(uint32 deadline);
    error GrantAlreadyIssued(bytes32 grantId);
    error GrantUnknown(bytes32 grantId);
    error GrantAlreadyRevoked(bytes32 grantId);
    error GrantWindowInvalid(uint32 notBefore, uint32 notAfter);
    error GrantCountInvalid(uint24 requested, uint24 policyMax);
    error GrantPriceMismatch(uint96 offered, uint96 price);
    error GrantPurposeNotAllowed(bytes32 assetId, string purpose);
    error GrantJurisdictionNotAllowed(bytes32 assetId, bytes2 jurisdiction);
    error GrantPolicyInvalid(bytes32 assetId);

    event PolicySet(
        bytes32 indexed assetId,
        uint32 epoch,
        uint32 notBefore,
        uint32 notAfter,
        uint24 maxCount,
        uint96 pricePerAccess,
        bool computeOnly,
        bool autoApprove,
        string[] purposes,
        bytes2[] jurisdictions
    );
    event GrantIssued(
        bytes32 indexed grantId,
        bytes32 indexed assetId,
        address indexed consumer,
        string purpose,
        uint32 notBefore,
        uint32 notAfter,
        uint24 maxCount,
        uint96 pricePerAccess,
        uint256 nonce,
        uint32 deadline,
        bytes signature
    );
    event GrantRevoked(bytes32 indexed grantId, bytes32 indexed assetId, address indexed by);

    /// @notice Set (or replace) the usage policy of an asset; its provider only.
    /// @param assetId The asset.
    /// @param policy Window, count cap, price, flags (epoch is ignored and assigned).
    /// @param purposes Allowed purposes (empty: any purpose).
    /// @param jurisdictions Allowed consumer jurisdictions, ISO 3166-1 alpha-2 (empty: any).
    function setPolicy(bytes32 assetId, Policy calldata policy, string[] calldata purposes, bytes2[] calldata jurisdictions)
        external;

    /// @notice Issue a grant for a consumer-signed request; the asset's provider only.
    /// @param request The request the consumer signed.
    /// @param signature The consumer's EIP-712 signature (65 bytes).
    /// @return grantId The EIP-712 digest of the request.
    function issueGrant(GrantRequest calldata request, bytes calldata signature) external returns (bytes32 grantId);

    /// @notice Revoke a grant; the asset's provider only. Effective from the next block.
    /// @param request The signed request the grant was issued for (as in its GrantIssued event).
    /// @return grantId The revoked grant's id.
    function revokeGrant(GrantRequest calldata request) external returns (bytes32 grantId);

    /// @notice Reverts unless `request` hashes to an issued grant; returns the grant id and state.
    /// @param request The signed request the grant was issued for.
    /// @return grantId The grant id.
    /// @return grant The grant's state.
    function requireGrant(GrantRequest calldata request) external view returns (bytes32 grantId, Grant memory grant);

    /// @notice The policy of an asset (epoch 0 if none).
    /// @param assetId The asset.
    /// @return The policy.
    function getPolicy(bytes32 assetId) external view returns (Policy memory);

    /// @notice Whether a purpose is allowed under the asset's current policy.
    /// @param assetId The asset.
    /// @param purpose The purpose string.
    /// @return True when allowed.
    function isPurposeAllowed(bytes32 assetId, string calldata purpose) external view returns (bool);

    /// @notice Whether a jurisdiction is allowed under the asset's current policy.
    /// @param assetId The asset.
    /// @param jurisdiction ISO 3166-1 alpha-2 code.
    /// @return True when allowed.
    function isJurisdictionAllowed(bytes32 assetId, bytes2 jurisdiction) external view returns (bool);

    /// @notice A grant's state (status None if unknown).
    /// @param grantId The grant.
    /// @return The grant.
    function getGrant(bytes32 grantId) external view returns (Grant memory);

    /// @notice Whether the grant is live at this block, and why not.
    /// @param grantId The grant.
    /// @return The liveness verdict.
    function liveness(bytes32 grantId) external view returns (Liveness);

    /// @notice The EIP-712 digest (= grant id) of a request, for clients to check their encoding.
    /// @param request The request.
    /// @return The digest.
    function hashGrantRequest(GrantRequest calldata request) external view returns (bytes32);
}
