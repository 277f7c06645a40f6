// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAnchorRegistry
/// @notice Merkle roots (OpenZeppelin StandardMerkleTree format) of receipts or asset batches.
interface IAnchorRegistry {
    /// @notice One anchored root (one storage slot).
    struct Anchor {
        address anchorer;
        uint48 blockNumber;
        uint40 leafCount;
        uint8 kind; // 1 access receipts, 2 asset registrations
    }

    error AnchorZeroRoot();
    error AnchorAlreadyAnchored(bytes32 root);
    error AnchorInvalidLeafCount(uint40 leafCount);
    error AnchorInvalidKind(uint8 kind);

    event RootAnchored(bytes32 indexed root, address indexed anchorer, uint40 leafCount, uint8 indexed kind);

    /// @notice Anchor a Merkle root; any active participant. A root can be anchored once.
    /// @param root The Merkle root.
    /// @param leafCount Number of leaves under the root.
    /// @param kind 1 access receipts, 2 asset registrations.
    function anchorRoot(bytes32 root, uint40 leafCount, uint8 kind) external;

    /// @notice The anchor of a root (anchorer zero if never anchored).
    /// @param root The Merkle root.
    /// @return The anchor record.
    function getAnchor(bytes32 root) external view returns (Anchor memory);

    /// @notice Whether `leaf` is under an anchored `root` (OpenZeppelin MerkleProof, sorted pairs).
    /// @param root An anchored root.
    /// @param proof Sibling hashes from leaf to root.
    /// @param leaf keccak256(bytes.concat(keccak256(abi.encode(values)))).
    /// @return True when the root is anchored and the proof verifies.
    function verifyInclusion(bytes32 root, bytes32[] calldata proof, bytes32 leaf) external view returns (bool);
}
