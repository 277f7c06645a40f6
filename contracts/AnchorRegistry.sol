// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAnchorRegistry} from "./interfaces/IAnchorRegistry.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title AnchorRegistry
/// @notice Anchors Merkle roots so that any receipt or asset under them is provable on-chain; only a
/// provider (or a notary key it registered, for receipts) may anchor, and a receipt verifies only
/// under a root anchored on behalf of its asset's provider.
/// @dev Anchors are keyed by (provider, root): a root anchored on behalf of one provider does not stop
/// another from anchoring it (nobody can squat a provider's root). One storage slot per anchor
/// whatever the leaf count; one per notary key.
contract AnchorRegistry is IAnchorRegistry {
    uint8 public constant KIND_RECEIPTS = 1;
    uint8 public constant KIND_ASSETS = 2;

    IParticipantRegistry private immutable _participants;
    IAssetRegistry private immutable _assets;
    mapping(address provider => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(address notary => NotaryKey) private _notaries;

    /// @param participants The ParticipantRegistry consulted for membership and roles.
    /// @param assets The AssetRegistry naming each asset's provider.
    constructor(IParticipantRegistry participants, IAssetRegistry assets) {
        _participants = participants;
        _assets = assets;
    }

    /// @inheritdoc IAnchorRegistry
    function anchorRoot(bytes32 root, uint40 leafCount, uint8 kind) external {
        if (root == bytes32(0)) revert AnchorZeroRoot();
        if (leafCount == 0) revert AnchorInvalidLeafCount(leafCount);
        if (kind != KIND_RECEIPTS && kind != KIND_ASSETS) revert AnchorInvalidKind(kind);
        address provider = _principalOf(msg.sender, kind);
        if (provider == address(0)) revert AnchorUnauthorized(msg.sender, kind);
        Anchor storage anchor = _anchors[provider][root]; // field writes: ~1,250 gas less than a struct copy
        if (anchor.anchorer != address(0)) revert AnchorAlreadyAnchored(provider, root);
        anchor.anchorer = msg.sender;
        anchor.blockNumber = uint48(block.number);
        anchor.leafCount = leafCount;
        anchor.kind = kind;
        emit RootAnchored(root, provider, msg.sender, leafCount, kind);
    }

    /// @inheritdoc IAnchorRegistry
    function registerNotary(address notary) external {
        _participants.requireActive(msg.sender, Roles.PROVIDER);
        if (notary == address(0) || notary == msg.sender) revert AnchorNotaryInvalid(notary);
        address bound = _notaries[notary].provider;
        if (bound != address(0)) revert AnchorNotaryAlreadyRegistered(notary, bound);
        _notaries[notary] = NotaryKey(msg.sender, true);
        emit NotaryRegistered(notary, msg.sender);
    }

    /// @inheritdoc IAnchorRegistry
    function revokeNotary(address notary) external {
        _participants.requireActive(msg.sender, Roles.PROVIDER);
        NotaryKey storage key = _notaries[notary];
        if (key.provider != msg.sender) revert AnchorNotaryNotRegistered(notary, msg.sender);
        if (!key.active) revert AnchorNotaryAlreadyRevoked(notary);
        key.active = false;
        emit NotaryRevoked(notary, msg.sender);
    }

    /// @inheritdoc IAnchorRegistry
    function notaryOf(address notary) external view returns (address provider, bool active) {
        NotaryKey memory key = _notaries[notary];
        return (key.provider, key.active);
    }

    /// @inheritdoc IAnchorRegistry
    function assetRegistry() external view returns (address) {
        return address(_assets);
    }

    /// @inheritdoc IAnchorRegistry
    function principalOf(address caller, uint8 kind) external view returns (address) {
        return _principalOf(caller, kind);
    }

    /// @inheritdoc IAnchorRegistry
    function getAnchor(address provider, bytes32 root) external view returns (Anchor memory) {
        return _anchors[provider][root];
    }

    /// @inheritdoc IAnchorRegistry
    function verifyInclusion(address provider, bytes32 root, bytes32[] calldata proof, bytes32 leaf)
        external
        view
        returns (bool)
    {
        return _anchors[provider][root].anchorer != address(0) && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IAnchorRegistry
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
    ) external view returns (bool) {
        if (!_isEvidenceRoot(root, assetId)) return false;
        return MerkleProof.verifyCalldata(
            proof,
            root,
            keccak256(
                bytes.concat(
                    keccak256(
                        abi.encode(
                            receiptIdHash, grantId, assetId, consumer, purposeHash, allowed, byteCount, time, contentHash
                        )
                    )
                )
            )
        );
    }

    /// @dev The provider on whose behalf `caller` anchors a root of `kind`, zero if it may not: itself if an
    /// active provider; for receipts, the provider of an active notary key if that provider is active.
    function _principalOf(address caller, uint8 kind) private view returns (address) {
        if (_participants.isActive(caller, Roles.PROVIDER)) return caller;
        if (kind != KIND_RECEIPTS) return address(0);
        NotaryKey memory key = _notaries[caller];
        if (!key.active || !_participants.isActive(key.provider, Roles.PROVIDER)) return address(0);
        return key.provider;
    }

    /// @dev Whether `root` is anchored as receipts on behalf of the provider of `assetId`.
    function _isEvidenceRoot(bytes32 root, bytes32 assetId) private view returns (bool) {
        address provider = _assets.getAsset(assetId).provider;
        return provider != address(0) && _anchors[provider][root].kind == KIND_RECEIPTS;
    }
}
