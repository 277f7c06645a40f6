// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAnchorRegistry} from "./interfaces/IAnchorRegistry.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";

/// @title AnchorRegistry
/// @notice Anchors Merkle roots so that any receipt or asset under them is provable on-chain.
/// @dev One storage slot per root whatever the leaf count.
contract AnchorRegistry is IAnchorRegistry {
    uint8 public constant KIND_RECEIPTS = 1;
    uint8 public constant KIND_ASSETS = 2;

    IParticipantRegistry private immutable _participants;
    mapping(bytes32 root => Anchor) private _anchors;

    /// @param participants The ParticipantRegistry consulted for membership.
    constructor(IParticipantRegistry participants) {
        _participants = participants;
    }

    /// @inheritdoc IAnchorRegistry
    function anchorRoot(bytes32 root, uint40 leafCount, uint8 kind) external {
        _participants.requireActive(msg.sender, 0);
        if (root == bytes32(0)) revert AnchorZeroRoot();
        if (leafCount == 0) revert AnchorInvalidLeafCount(leafCount);
        if (kind != KIND_RECEIPTS && kind != KIND_ASSETS) revert AnchorInvalidKind(kind);
        Anchor storage a = _anchors[root];
        if (a.anchorer != address(0)) revert AnchorAlreadyAnchored(root);
        _anchors[root] = Anchor(msg.sender, uint48(block.number), leafCount, kind);
        emit RootAnchored(root, msg.sender, leafCount, kind);
    }

    /// @inheritdoc IAnchorRegistry
    function getAnchor(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @inheritdoc IAnchorRegistry
    function verifyInclusion(bytes32 root, bytes32[] calldata proof, bytes32 leaf) external view returns (bool) {
        return _anchors[root].anchorer != address(0) && MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
