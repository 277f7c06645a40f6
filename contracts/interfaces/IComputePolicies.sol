// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IComputePolicies
/// @notice Compute-to-data policies of assets: which algorithms (themselves registered assets) a provider
///         approved to run on its asset, and the differential-privacy budget each grant may spend.
interface IComputePolicies {
    /// @notice No asset is registered under `assetId`.
    /// @param assetId The asset id.
    error ComputeAssetUnknown(bytes32 assetId);
    /// @notice `caller` is not the asset's provider.
    /// @param assetId The asset id.
    /// @param caller The sender.
    error ComputeNotProvider(bytes32 assetId, address caller);
    /// @notice The algorithm is not a registered asset.
    /// @param algorithmId The algorithm's asset id.
    error ComputeAlgorithmUnknown(bytes32 algorithmId);
    /// @notice An asset cannot be approved as an algorithm on itself.
    /// @param assetId The asset id (given as both).
    error ComputeAlgorithmIsAsset(bytes32 assetId);
    /// @notice The algorithm already has the approval state asked for.
    /// @param assetId The asset id.
    /// @param algorithmId The algorithm's asset id.
    /// @param approved The state it already has.
    error ComputeApprovalUnchanged(bytes32 assetId, bytes32 algorithmId, bool approved);

    /// @notice `provider` approved `algorithmId` to run on `assetId`.
    /// @param assetId The asset id.
    /// @param algorithmId The algorithm's asset id.
    /// @param provider The asset's provider.
    event AlgorithmApproved(bytes32 indexed assetId, bytes32 indexed algorithmId, address indexed provider);
    /// @notice `provider` withdrew the approval of `algorithmId` on `assetId`.
    /// @param assetId The asset id.
    /// @param algorithmId The algorithm's asset id.
    /// @param provider The asset's provider.
    event AlgorithmRejected(bytes32 indexed assetId, bytes32 indexed algorithmId, address indexed provider);
    /// @notice `provider` set the per-grant differential-privacy budget of `assetId`.
    /// @param assetId The asset id.
    /// @param epsilonMicros Epsilon in millionths (0: no differentially private release allowed).
    /// @param provider The asset's provider.
    event PrivacyBudgetSet(bytes32 indexed assetId, uint64 epsilonMicros, address indexed provider);

    /// @notice Approve or withdraw the approval of an algorithm on an asset. Caller must be an active
    ///         provider and the asset's provider; the algorithm must be another registered asset.
    /// @param assetId The asset the algorithm runs on.
    /// @param algorithmId The algorithm's asset id.
    /// @param approved True to approve, false to withdraw; reverts if it is the current state.
    function setAlgorithmApproval(bytes32 assetId, bytes32 algorithmId, bool approved) external;

    /// @notice Set the per-grant differential-privacy epsilon budget of an asset (its active provider).
    /// @param assetId The asset id.
    /// @param epsilonMicros Epsilon in millionths (0: no differentially private release allowed).
    function setPrivacyBudget(bytes32 assetId, uint64 epsilonMicros) external;

    /// @notice Whether `algorithmId` is approved to run on `assetId`.
    /// @param assetId The asset id.
    /// @param algorithmId The algorithm's asset id.
    /// @return True if approved.
    function isApproved(bytes32 assetId, bytes32 algorithmId) external view returns (bool);

    /// @notice The per-grant differential-privacy epsilon budget of `assetId`, in millionths (0 if never set).
    /// @param assetId The asset id.
    /// @return The budget.
    function privacyBudget(bytes32 assetId) external view returns (uint64);
}
