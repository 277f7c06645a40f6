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

    /// @notice `caller` is not the asset's provider.
    /// @param assetId The asset.
    /// @param caller The sender.
    error GrantNotProvider(bytes32 assetId, address caller);
    /// @notice The asset has no policy yet.
    /// @param assetId The asset.
    error GrantPolicyMissing(bytes32 assetId);
    /// @notice The signature is not the consumer's over the request.
    /// @param consumer The consumer named in the request.
    error GrantInvalidSignature(address consumer);
    /// @notice The request's deadline has passed.
    /// @param deadline The deadline, unix seconds.
    error GrantRequestExpired(uint32 deadline);
    /// @notice A grant for this request was issued before.
    /// @param grantId The grant id.
    error GrantAlreadyIssued(bytes32 grantId);
    /// @notice No grant was issued with this id.
    /// @param grantId The grant id.
    error GrantUnknown(bytes32 grantId);
    /// @notice The grant was revoked before.
    /// @param grantId The grant id.
    error GrantAlreadyRevoked(bytes32 grantId);
    /// @notice The window is empty, over, or outside the policy's window.
    /// @param notBefore Its start, unix seconds.
    /// @param notAfter Its end, unix seconds.
    error GrantWindowInvalid(uint32 notBefore, uint32 notAfter);
    /// @notice The requested count is zero or above the policy's cap.
    /// @param requested The count requested.
    /// @param policyMax The policy's cap (0: no cap).
    error GrantCountInvalid(uint24 requested, uint24 policyMax);
    /// @notice The offered price is not the policy's price.
    /// @param offered The price in the request.
    /// @param price The policy's price.
    error GrantPriceMismatch(uint96 offered, uint96 price);
    /// @notice The policy does not allow this purpose.
    /// @param assetId The asset.
    /// @param purpose The purpose requested.
    error GrantPurposeNotAllowed(bytes32 assetId, string purpose);
    /// @notice The policy does not allow the consumer's jurisdiction.
    /// @param assetId The asset.
    /// @param jurisdiction The consumer's ISO 3166-1 alpha-2 code.
    error GrantJurisdictionNotAllowed(bytes32 assetId, bytes2 jurisdiction);
    /// @notice The policy lists more than 255 purposes or jurisdictions.
    /// @param assetId The asset.
    error GrantPolicyInvalid(bytes32 assetId);

    /// @notice The asset's provider set its policy; `epoch` counts the policies set so far.
    /// @param assetId The asset.
    /// @param epoch The new policy's epoch.
    /// @param notBefore Window start (0: no limit).
    /// @param notAfter Window end (0: no limit).
    /// @param maxCount Per-grant cap on accesses (0: no cap).
    /// @param pricePerAccess Price in settlement-token units.
    /// @param computeOnly Whether the data may only be computed on.
    /// @param autoApprove Whether requests are approved without the provider.
    /// @param purposes Allowed purposes (empty: any).
    /// @param jurisdictions Allowed consumer jurisdictions (empty: any).
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
    /// @notice A grant was issued for a consumer-signed request; the event carries the whole request and signature.
    /// @param grantId The EIP-712 digest of the request.
    /// @param assetId The asset.
    /// @param consumer The consumer.
    /// @param purpose The purpose.
    /// @param notBefore Window start.
    /// @param notAfter Window end.
    /// @param maxCount Cap on accesses.
    /// @param pricePerAccess Price per access.
    /// @param nonce The request's nonce.
    /// @param deadline The request's deadline.
    /// @param signature The consumer's EIP-712 signature.
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
    /// @notice The asset's provider revoked a grant.
    /// @param grantId The grant.
    /// @param assetId Its asset.
    /// @param by The provider.
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
