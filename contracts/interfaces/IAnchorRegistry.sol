// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAnchorRegistry
/// @notice Merkle roots (OpenZeppelin StandardMerkleTree format) of access receipts or asset batches,
/// and the notary keys providers register to anchor their receipts.
/// @dev Who may anchor: a receipts root (kind 1) an active provider or an active notary key of an
/// active provider; an assets root (kind 2) an active provider only. A receipt is evidence only
/// under a root anchored by the provider of the receipt's asset or by a notary key that provider
/// registered: `verifyReceipt` checks exactly that; `verifyInclusion` checks membership alone.
interface IAnchorRegistry {
    /// @notice One anchored root (one storage slot).
    struct Anchor {
        address anchorer;
        uint48 blockNumber;
        uint40 leafCount;
        uint8 kind; // 1 access receipts, 2 asset registrations
    }

    /// @notice A notary key: the provider it is bound to (for ever) and whether it may still anchor.
    struct NotaryKey {
        address provider;
        bool active;
    }

    error AnchorZeroRoot();
    error AnchorAlreadyAnchored(bytes32 root);
    error AnchorInvalidLeafCount(uint40 leafCount);
    error AnchorInvalidKind(uint8 kind);
    /// @notice `caller` may not anchor a root of `kind` (not an active provider, nor, for receipts,
    /// an active notary key of an active provider).
    error AnchorUnauthorized(address caller, uint8 kind);
    /// @notice `notary` cannot be a notary key (zero, or the registering provider itself).
    error AnchorNotaryInvalid(address notary);
    /// @notice `notary` is already bound to `provider` (a key is bound to one provider for ever).
    error AnchorNotaryAlreadyRegistered(address notary, address provider);
    /// @notice `notary` is not a key registered by `caller`.
    error AnchorNotaryNotRegistered(address notary, address caller);
    /// @notice `notary` was already revoked.
    error AnchorNotaryAlreadyRevoked(address notary);

    event RootAnchored(bytes32 indexed root, address indexed anchorer, uint40 leafCount, uint8 indexed kind);
    event NotaryRegistered(address indexed notary, address indexed provider);
    event NotaryRevoked(address indexed notary, address indexed provider);

    /// @notice Anchor a Merkle root once. Receipts (kind 1): an active provider, or an active notary
    /// key of an active provider. Assets (kind 2): an active provider.
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

    /// @notice The anchor of a root (anchorer zero if never anchored).
    /// @param root The Merkle root.
    /// @return The anchor record.
    function getAnchor(bytes32 root) external view returns (Anchor memory);

    /// @notice Generic inclusion: whether `leaf` is under an anchored `root` (OpenZeppelin MerkleProof,
    /// sorted pairs), whoever anchored it and whatever its kind. It says nothing about who may vouch for
    /// a receipt: check receipts with `verifyReceipt`.
    /// @param root An anchored root.
    /// @param proof Sibling hashes from leaf to root.
    /// @param leaf keccak256(bytes.concat(keccak256(abi.encode(values)))).
    /// @return True when the root is anchored and the proof verifies.
    function verifyInclusion(bytes32 root, bytes32[] calldata proof, bytes32 leaf) external view returns (bool);

    /// @notice Whether an access receipt is evidence: its StandardMerkleTree leaf (recomputed from the
    /// values) is under `root`, `root` is anchored as receipts (kind 1), and its anchorer is the provider
    /// of `assetId` in AssetRegistry or a notary key that provider registered (revoked keys included,
    /// for roots they anchored).
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
