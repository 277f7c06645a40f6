// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IComputePolicies} from "./interfaces/IComputePolicies.sol";
import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title ComputePolicies
/// @notice Compute-to-data policies: algorithm approvals per asset and per-grant privacy budgets, set by
///         each asset's provider.
/// @dev Storage holds the current state; the events are the history, which auditors replay.
contract ComputePolicies is IComputePolicies {
    IParticipantRegistry private immutable _participants;
    IAssetRegistry private immutable _assets;
    mapping(bytes32 assetId => mapping(bytes32 algorithmId => bool)) private _approved;
    mapping(bytes32 assetId => uint64) private _budgets;

    /// @param participants The ParticipantRegistry consulted for membership.
    /// @param assets The AssetRegistry consulted for assets, algorithms and their providers.
    constructor(IParticipantRegistry participants, IAssetRegistry assets) {
        _participants = participants;
        _assets = assets;
    }

    /// @inheritdoc IComputePolicies
    function setAlgorithmApproval(bytes32 assetId, bytes32 algorithmId, bool approved) external {
        _requireProvider(assetId);
        if (algorithmId == assetId) revert ComputeAlgorithmIsAsset(assetId);
        if (_assets.getAsset(algorithmId).provider == address(0)) revert ComputeAlgorithmUnknown(algorithmId);
        if (_approved[assetId][algorithmId] == approved) revert ComputeApprovalUnchanged(assetId, algorithmId, approved);
        _approved[assetId][algorithmId] = approved;
        if (approved) emit AlgorithmApproved(assetId, algorithmId, msg.sender);
        else emit AlgorithmRejected(assetId, algorithmId, msg.sender);
    }

    /// @inheritdoc IComputePolicies
    function setPrivacyBudget(bytes32 assetId, uint64 epsilonMicros) external {
        _requireProvider(assetId);
        _budgets[assetId] = epsilonMicros;
        emit PrivacyBudgetSet(assetId, epsilonMicros, msg.sender);
    }

    /// @inheritdoc IComputePolicies
    function isApproved(bytes32 assetId, bytes32 algorithmId) external view returns (bool) {
        return _approved[assetId][algorithmId];
    }

    /// @inheritdoc IComputePolicies
    function privacyBudget(bytes32 assetId) external view returns (uint64) {
        return _budgets[assetId];
    }

    /// @dev Reverts unless the sender is an active provider and the registered provider of `assetId`.
    function _requireProvider(bytes32 assetId) private view {
        _participants.requireActive(msg.sender, Roles.PROVIDER);
        address provider = _assets.getAsset(assetId).provider;
        if (provider == address(0)) revert ComputeAssetUnknown(assetId);
        if (provider != msg.sender) revert ComputeNotProvider(assetId, msg.sender);
    }
}
