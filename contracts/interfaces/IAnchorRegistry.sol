// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAnchorRegistry
/// @notice Merkle roots (OpenZeppelin StandardMerkleTree format) of access receipts or asset batches,
/// and the notary keys providers register to anchor their receipts.
/// @dev Who may anchor: a receipts root (kind 1) an active provider or an active notary key of an
/// active provider; an assets root (kind 2) an active provider only. Every anchor is made on behalf
/// of a provider (its principal: the caller itself, or the provider that registered the caller's
/// notary key) and is keyed by (provider, root): one provider anchors a root once, and the same root
/// anchored on behalf of another provider is another, independent anchor (so nobody can block a
/// provider's root by anchoring it first). A receipt is evidence only under a root anchored on
/// behalf of the provider of the receipt's asset: `verifyReceipt` checks exactly that;
/// `verifyInclusion` checks membership under one provider's anchor, whatever its kind.
interface IAnchorRegistry {
    /// @notice One anchored root of one provider (one storage slot).
    struct Anchor {
        address anchorer; // who sent anchorRoot: the provider itself or its notary key
        uint48 blockNumber;
        uint40 leafCount;
        uint8 kind; // 1 access receipts, 2 asset registrations
    }

    /// @notice A notary key: the provider it is bound to (for ever) and whether it may still anchor.
    struct NotaryKey {
        address provider;
        bool active;
    }

    /// @notice The root to anchor is zero.
    error AnchorZeroRoot();
    /// @notice `root` is already anchored on behalf of `provider` (by it or by one of its notary keys).
    /// @param provider The provider (principal) the root was anchored for.
    /// @param root The root.
    error AnchorAlreadyAnchored(address provider, bytes32 root);
    /// @notice A root must cover at least one leaf.
    /// @param leafCount The leaf count given (zero).
    error AnchorInvalidLeafCount(uint40 leafCount);
    /// @notice `kind` is neither 1 (access receipts) nor 2 (asset registrations).
    /// @param kind The kind given.
    error AnchorInvalidKind(uint8 kind);
    /// @notice `caller` may not anchor a root of `kind` (not an active provider, nor, for receipts,
    /// an active notary key of an active provider).
    /// @param caller The would-be anchorer.
    /// @param kind The kind of root it tried to anchor.
    error AnchorUnauthorized(address caller, uint8 kind);
    /// @notice `notary` cannot be a notary key (zero, or the registering provider itself).
    /// @param notary The rejected address.
    error AnchorNotaryInvalid(address notary);
    /// @notice `notary` is already bound to `provider` (a key is bound to one provider for ever).
    /// @param notary The notary key.
    /// @param provider The provider it is bound to.
    error AnchorNotaryAlreadyRegistered(address notary, address provider);
    /// @notice `notary` is not a key registered by `caller`.
    /// @param notary The notary key.
    /// @param caller The provider that tried to revoke it.
    error AnchorNotaryNotRegistered(address notary, address caller);
    /// @notice `notary` was already revoked.
    /// @param notary The notary key.
    error AnchorNotaryAlreadyRevoked(address notary);

    /// @notice `root` was anchored on behalf of `provider` by `anchorer` (the provider itself or its notary key).
    /// @param root The Merkle root.
    /// @param provider The provider (principal) it was anchored for.
    /// @param anchorer The sender: the provider or its notary key.
    /// @param leafCount Number of leaves under the root.
    /// @param kind 1 access receipts, 2 asset registrations.
    event RootAnchored(
        bytes32 indexed root, address indexed provider, address anchorer, uint40 leafCount, uint8 indexed kind
    );
    /// @notice `provider` registered `notary` as a key that anchors receipts roots for it.
    /// @param notary The notary key.
    /// @param provider The provider it is bound to.
    event NotaryRegistered(address indexed notary, address indexed provider);
    /// @notice `provider` revoked `notary`; the roots it anchored before stay valid evidence.
    /// @param notary The notary key.
    /// @param provider The provider it is bound to.
    event NotaryRevoked(address indexed notary, address indexed provider);

    /// @notice Anchor a Merkle root on behalf of the caller's provider (the caller itself, or the provider
    /// of its notary key), once per provider. Receipts (kind 1): an active provider, or an active notary
    /// key of an active provider. Assets (kind 2): an active provider. Reverts `AnchorUnauthorized` for
    /// anyone else and `AnchorAlreadyAnchored(provider, root)` if that provider anchored `root` before.
    /// @param root The Merkle root.
    /// @param leafCount Number of leaves under the root.
    /// @param kind 1 access receipts, 2 asset registrations.
    function anchorRoot(bytes32 root, uint40 leafCount, uint8 kind) external;

    /// @notice Register `notary` as a key that anchors receipts roots for the caller (an active
    /// provider). The key is bound to the caller for ever; it need not be a participant.
    /// @param notary The notary key's address.
    function registerNotary(address notary) external;

    /// @notice Stop `notary` (a key the caller registered) from anchoring; roots it anchored before
    /// stay valid evidence.
    /// @param notary The notary key's address.
    function revokeNotary(address notary) external;

    /// @notice The provider a notary key is bound to (zero if never registered) and whether it is active.
    /// @param notary The notary key's address.
    /// @return provider The provider that registered the key.
    /// @return active False once revoked.
    function notaryOf(address notary) external view returns (address provider, bool active);

    /// @notice The AssetRegistry whose providers vouch for receipts (`verifyReceipt`).
    /// @return The AssetRegistry's address.
    function assetRegistry() external view returns (address);

    /// @notice The provider on whose behalf `caller` would anchor a root of `kind` now: `caller` itself if
    /// an active provider; for receipts, the provider of `caller`'s active notary key if that provider is
    /// active; zero if `caller` may not anchor that kind.
    /// @param caller The would-be anchorer.
    /// @param kind 1 access receipts, 2 asset registrations.
    /// @return The provider (principal), or zero.
    function principalOf(address caller, uint8 kind) external view returns (address);

    /// @notice The anchor of `root` made on behalf of `provider` (anchorer zero if it never anchored it).
    /// @param provider The provider (principal) the root was anchored for.
    /// @param root The Merkle root.
    /// @return The anchor record.
    function getAnchor(address provider, bytes32 root) external view returns (Anchor memory);

    /// @notice Generic inclusion: whether `leaf` is under `root` and `root` is anchored on behalf of
    /// `provider` (OpenZeppelin MerkleProof, sorted pairs), whatever its kind. It says nothing about
    /// which assets that provider may vouch for: check receipts with `verifyReceipt`.
    /// @param provider The provider (principal) the root was anchored for.
    /// @param root A root anchored on behalf of `provider`.
    /// @param proof Sibling hashes from leaf to root.
    /// @param leaf keccak256(bytes.concat(keccak256(abi.encode(values)))).
    /// @return True when `provider` anchored the root and the proof verifies.
    function verifyInclusion(address provider, bytes32 root, bytes32[] calldata proof, bytes32 leaf)
        external
        view
        returns (bool);

    /// @notice Whether an access receipt is evidence: its StandardMerkleTree leaf (recomputed from the
    /// values) is under `root`, and `root` is anchored as receipts (kind 1) on behalf of the provider of
    /// `assetId` in AssetRegistry (by that provider or a notary key it registered; revoked keys included,
    /// for roots they anchored). The same root anchored on behalf of anyone else proves nothing here.
    /// @param root The receipts root.
    /// @param proof Sibling hashes from leaf to root.
    /// @param receiptIdHash keccak256 of the receipt id.
    /// @param grantId The grant the access was served under.
    /// @param assetId The asset accessed.
    /// @param consumer The consumer.
    /// @param purposeHash keccak256 of the purpose.
    /// @param allowed 1 allowed, 0 denied.
    /// @param byteCount Bytes served.
    /// @param time Unix seconds of the access.
    /// @param contentHash SHA-256 of the bytes served.
    /// @return True when all of the above hold.
    function verifyReceipt(
        bytes32 root,
        bytes32[] calldata proof,
        bytes32 receiptIdHash,
        bytes32 grantId,
        bytes32 assetId,
        address consumer,
        bytes32 purposeHash,
        uint8 allowed,
        uint64 byteCount,
        uint64 time,
        bytes32 contentHash
    ) external view returns (bool);
}
