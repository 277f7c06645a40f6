// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IUsageGrants
/// @notice Usage policies per asset and grants that carry the consumer's EIP-712 consent.
interface IUsageGrants {
    /// @notice How a policy charges (settled by the Settlement contract in its token's base units).
    enum PriceModel {
        Free, // price 0
        Prepaid, // per use; issuing a grant locks maxCount * price of the consumer's deposit
        PayAfterUse, // per use; settled from a usage statement the consumer signs (EIP-712)
        Subscription // price per started period of the grant's window; locked at issue
    }

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
        PriceModel priceModel;
        uint24 freeUses; // free trial: a consumer's first uses of the asset are not charged (per-use models)
        uint32 period; // Subscription: seconds per charged period (0 otherwise)
    }

    /// @notice A policy's money terms as they were at one epoch (what a grant issued under it agreed to).
    struct Pricing {
        PriceModel priceModel;
        uint24 freeUses;
        uint32 period;
        uint96 price;
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
        uint32 policyEpoch; // the policy (and so the price model) the consumer agrees to
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
    /// @notice The request names another policy epoch than the asset's current one.
    /// @param requested The epoch the consumer signed.
    /// @param current The asset's current policy epoch.
    error GrantPolicyChanged(uint32 requested, uint32 current);
    /// @notice The provider's acceptance signature is not the asset provider's over the grant id.
    /// @param provider The asset's provider.
    error GrantInvalidAcceptance(address provider);
    /// @notice The price model's terms do not fit together (Free with a price; a paid model without one;
    ///         a period outside Subscription; a free trial on Free or Subscription).
    /// @param assetId The asset.
    error GrantPricingInvalid(bytes32 assetId);
    /// @notice A paid policy needs the Settlement contract bound (operator: `bindSettlement`).
    error GrantSettlementUnbound();
    /// @notice Only an operator of the ParticipantRegistry may bind Settlement, once.
    /// @param caller The sender.
    error GrantBindUnauthorized(address caller);
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
    /// @notice The money terms of the policy set at `epoch` (emitted right after its PolicySet).
    /// @param assetId The asset.
    /// @param epoch The policy's epoch.
    /// @param priceModel How it charges.
    /// @param freeUses Free trial uses per consumer.
    /// @param period Subscription period in seconds (0 otherwise).
    event PricingSet(bytes32 indexed assetId, uint32 epoch, PriceModel priceModel, uint24 freeUses, uint32 period);
    /// @notice The provider accepted the grant (the agreement's second signature, EIP-712 GrantAcceptance).
    /// @param grantId The grant.
    /// @param provider The asset's provider.
    /// @param policyEpoch The policy epoch agreed.
    /// @param signature The provider's EIP-712 signature over GrantAcceptance(grantId, provider).
    event GrantAccepted(bytes32 indexed grantId, address indexed provider, uint32 policyEpoch, bytes signature);
    /// @notice The operator bound the Settlement contract that prices and escrows paid grants.
    /// @param settlement Its address.
    event SettlementBound(address settlement);
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
    /// @param policyEpoch The policy epoch agreed.
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
        uint32 policyEpoch,
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

    /// @notice Issue a grant: the agreement of a consumer-signed request and the provider's signed acceptance;
    ///         the asset's provider only. A Prepaid or Subscription policy locks the price in escrow
    ///         (Settlement) in the same transaction, or nothing is issued.
    /// @param request The request the consumer signed (its policyEpoch must be the current one).
    /// @param signature The consumer's EIP-712 signature (65 bytes).
    /// @param acceptance The provider's EIP-712 signature over GrantAcceptance(grantId, provider).
    /// @return grantId The EIP-712 digest of the request.
    function issueGrant(GrantRequest calldata request, bytes calldata signature, bytes calldata acceptance)
        external
        returns (bytes32 grantId);

    /// @notice Bind the Settlement contract (once; an operator of the ParticipantRegistry).
    /// @param settlement The Settlement contract.
    function bindSettlement(address settlement) external;

    /// @notice The Settlement contract bound (zero before `bindSettlement`).
    /// @return Its address.
    function settlement() external view returns (address);

    /// @notice The money terms of an asset's policy at `epoch` (Free and price 0 if never set).
    /// @param assetId The asset.
    /// @param epoch The policy epoch.
    /// @return The pricing.
    function pricingOf(bytes32 assetId, uint32 epoch) external view returns (Pricing memory);

    /// @notice The EIP-712 digest a provider signs to accept a grant.
    /// @param grantId The grant id.
    /// @param provider The asset's provider.
    /// @return The digest.
    function hashAcceptance(bytes32 grantId, address provider) external view returns (bytes32);

    /// @notice Revoke a grant; the asset's provider only. Effective from the next block. A Subscription
    ///         grant's unstarted periods go back to the consumer's deposit at once (Settlement.onRevoked).
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
