// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {BasisPoints} from "./libraries/BasisPoints.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title AssetRegistry
/// @notice Anchors data assets by content hash, with metadata, lineage, versions and revenue owners.
/// @dev Storage keeps what later checks need (provider, size, version, status, metadata hash, owners hash);
///      the full record (URI, parents, owners) is in the events, which auditors replay.
contract AssetRegistry is IAssetRegistry {
    IParticipantRegistry private immutable _participants;
    mapping(bytes32 assetId => Asset) private _assets;

    /// @param participants The ParticipantRegistry consulted for membership.
    constructor(IParticipantRegistry participants) {
        _participants = participants;
    }

    /// @inheritdoc IAssetRegistry
    function registerAsset(
        bytes32 contentHash,
        uint64 size,
        bytes32 metadataHash,
        string calldata metadataURI,
        bytes32[] calldata parents,
        address[] calldata owners,
        uint16[] calldata sharesBps
    ) external {
        _participants.requireActive(msg.sender, Roles.PROVIDER);
        for (uint256 i = 0; i < parents.length; ++i) {
            if (_assets[parents[i]].provider == address(0)) revert AssetParentUnknown(parents[i]);
        }
        bytes32 ownersHash = _ownersHash(owners, sharesBps);
        _store(contentHash, size, 1, metadataHash, ownersHash, bytes32(0));
        if (parents.length != 0) _assets[contentHash].parentsHash = keccak256(abi.encode(parents));
        emit AssetRegistered(contentHash, msg.sender, size, metadataHash, metadataURI, parents, owners, sharesBps);
    }

    /// @inheritdoc IAssetRegistry
    function registerVersion(
        bytes32 previousId,
        bytes32 contentHash,
        uint64 size,
        bytes32 metadataHash,
        string calldata metadataURI
    ) external {
        _participants.requireActive(msg.sender, Roles.PROVIDER);
        Asset storage prev = _assets[previousId];
        if (prev.provider == address(0)) revert AssetUnknown(previousId);
        if (prev.provider != msg.sender) revert AssetNotProvider(previousId, msg.sender);
        uint16 version = prev.version + 1;
        _store(contentHash, size, version, metadataHash, prev.ownersHash, previousId);
        bytes32 parentsHash = prev.parentsHash;
        if (parentsHash != bytes32(0)) _assets[contentHash].parentsHash = parentsHash;
        emit AssetRegistered(
            contentHash, msg.sender, size, metadataHash, metadataURI, new bytes32[](0), new address[](0), new uint16[](0)
        );
        emit AssetVersionRegistered(contentHash, previousId, version);
    }

    /// @inheritdoc IAssetRegistry
    function deactivate(bytes32 assetId) external {
        Asset storage a = _assets[assetId];
        if (a.provider == address(0)) revert AssetUnknown(assetId);
        if (a.provider != msg.sender) revert AssetNotProvider(assetId, msg.sender);
        if (!a.active) revert AssetInactive(assetId);
        a.active = false;
        emit AssetDeactivated(assetId, msg.sender);
    }

    /// @inheritdoc IAssetRegistry
    function getAsset(bytes32 assetId) external view returns (Asset memory) {
        return _assets[assetId];
    }

    /// @inheritdoc IAssetRegistry
    function requireActiveAsset(bytes32 assetId) external view returns (address provider) {
        Asset storage a = _assets[assetId];
        provider = a.provider;
        if (provider == address(0)) revert AssetUnknown(assetId);
        if (!a.active) revert AssetInactive(assetId);
    }

    /// @inheritdoc IAssetRegistry
    function checkOwners(bytes32 assetId, address[] calldata owners, uint16[] calldata sharesBps) external view {
        Asset storage a = _assets[assetId];
        if (a.provider == address(0)) revert AssetUnknown(assetId);
        bytes32 expected = a.ownersHash;
        bytes32 given = owners.length == 0 && sharesBps.length == 0 ? bytes32(0) : keccak256(abi.encode(owners, sharesBps));
        if (given != expected) revert AssetOwnersMismatch(assetId);
    }

    /// @inheritdoc IAssetRegistry
    function payoutOf(bytes32 assetId) external view returns (address provider, bytes32 ownersHash, bytes32 parentsHash) {
        Asset storage a = _assets[assetId];
        return (a.provider, a.ownersHash, a.parentsHash);
    }

    function _store(
        bytes32 contentHash,
        uint64 size,
        uint16 version,
        bytes32 metadataHash,
        bytes32 ownersHash,
        bytes32 previousId
    ) private {
        if (contentHash == bytes32(0)) revert AssetZeroHash();
        Asset storage a = _assets[contentHash];
        if (a.provider != address(0)) revert AssetAlreadyRegistered(contentHash);
        a.provider = msg.sender;
        a.size = size;
        a.version = version;
        a.active = true;
        a.metadataHash = metadataHash;
        if (ownersHash != bytes32(0)) a.ownersHash = ownersHash;
        if (previousId != bytes32(0)) a.previousVersion = previousId;
    }

    /// @dev Empty owners: the provider owns everything (hash 0, no storage write).
    function _ownersHash(address[] calldata owners, uint16[] calldata sharesBps) private pure returns (bytes32) {
        if (owners.length != sharesBps.length) revert AssetOwnersLengthMismatch(owners.length, sharesBps.length);
        if (owners.length == 0) return bytes32(0);
        uint256 total = 0;
        for (uint256 i = 0; i < owners.length; ++i) {
            if (owners[i] == address(0)) revert AssetInvalidOwner(owners[i]);
            total += sharesBps[i];
        }
        if (total != BasisPoints.TOTAL) revert AssetInvalidShares(total);
        return keccak256(abi.encode(owners, sharesBps));
    }
}
