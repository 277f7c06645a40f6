// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAssetRegistry
/// @notice Content-addressed data assets: the asset id is the SHA-256 of the asset's bytes.
interface IAssetRegistry {
    /// @notice On-chain record of one asset. Owners and shares live in events; storage keeps their hash.
    struct Asset {
        address provider;
        uint64 size;
        uint16 version; // 1 for a first registration, previous.version + 1 for a new version
        bool active;
        bytes32 metadataHash;
        bytes32 ownersHash; // 0: the provider owns 100 %; else keccak256(abi.encode(owners, sharesBps))
        bytes32 previousVersion; // 0 for a first registration
        bytes32 parentsHash; // 0: no parents; else keccak256(abi.encode(parents)) (versions inherit it)
    }

    /// @notice The content hash (asset id) is zero.
    error AssetZeroHash();
    /// @notice An asset with this content hash is already registered.
    /// @param assetId The asset id.
    error AssetAlreadyRegistered(bytes32 assetId);
    /// @notice No asset is registered under `assetId`.
    /// @param assetId The asset id.
    error AssetUnknown(bytes32 assetId);
    /// @notice The asset was deactivated.
    /// @param assetId The asset id.
    error AssetInactive(bytes32 assetId);
    /// @notice `caller` is not the asset's provider.
    /// @param assetId The asset id.
    /// @param caller The sender.
    error AssetNotProvider(bytes32 assetId, address caller);
    /// @notice A lineage parent is not a registered asset.
    /// @param parentId The unknown parent's id.
    error AssetParentUnknown(bytes32 parentId);
    /// @notice Owners and shares differ in length.
    /// @param owners Number of owners.
    /// @param shares Number of shares.
    error AssetOwnersLengthMismatch(uint256 owners, uint256 shares);
    /// @notice The shares do not add up to 10,000 basis points.
    /// @param totalBps Their sum.
    error AssetInvalidShares(uint256 totalBps);
    /// @notice An owner is the zero address.
    /// @param owner The owner given.
    error AssetInvalidOwner(address owner);
    /// @notice The owners and shares given are not the asset's registered ones.
    /// @param assetId The asset id.
    error AssetOwnersMismatch(bytes32 assetId);

    /// @notice `provider` registered an asset (also emitted for each new version, with its lineage and owners).
    /// @param assetId SHA-256 of the asset's bytes.
    /// @param provider The registering provider.
    /// @param size Size in bytes.
    /// @param metadataHash Hash of the metadata document.
    /// @param metadataURI Where the metadata document can be fetched.
    /// @param parents Assets it was derived from.
    /// @param owners Revenue owners (empty: the provider owns 100 %).
    /// @param sharesBps Their shares in basis points.
    event AssetRegistered(
        bytes32 indexed assetId,
        address indexed provider,
        uint64 size,
        bytes32 metadataHash,
        string metadataURI,
        bytes32[] parents,
        address[] owners,
        uint16[] sharesBps
    );
    /// @notice `assetId` was registered as a new version of `previousId`.
    /// @param assetId The new version.
    /// @param previousId The asset it replaces.
    /// @param version Its version number.
    event AssetVersionRegistered(bytes32 indexed assetId, bytes32 indexed previousId, uint16 version);
    /// @notice The asset was deactivated and can no longer be granted.
    /// @param assetId The asset id.
    /// @param by Its provider.
    event AssetDeactivated(bytes32 indexed assetId, address indexed by);

    /// @notice Register a new asset. Caller must be an active provider.
    /// @param contentHash SHA-256 of the asset's bytes; becomes the asset id.
    /// @param size Size of the asset in bytes.
    /// @param metadataHash Hash of the asset's metadata document.
    /// @param metadataURI Where the metadata document can be fetched.
    /// @param parents Asset ids this asset was derived from (lineage); each must exist.
    /// @param owners Revenue owners; empty means the provider owns 100 %.
    /// @param sharesBps Owners' shares in basis points, summing to 10,000.
    function registerAsset(
        bytes32 contentHash,
        uint64 size,
        bytes32 metadataHash,
        string calldata metadataURI,
        bytes32[] calldata parents,
        address[] calldata owners,
        uint16[] calldata sharesBps
    ) external;

    /// @notice Register a new version of an asset the caller provides; owners carry over.
    /// @param previousId The asset this version replaces.
    /// @param contentHash SHA-256 of the new version's bytes; becomes its asset id.
    /// @param size Size in bytes.
    /// @param metadataHash Hash of the new version's metadata document.
    /// @param metadataURI Where the metadata document can be fetched.
    function registerVersion(
        bytes32 previousId,
        bytes32 contentHash,
        uint64 size,
        bytes32 metadataHash,
        string calldata metadataURI
    ) external;

    /// @notice Deactivate an asset (its provider only); it can no longer be granted.
    /// @param assetId The asset to deactivate.
    function deactivate(bytes32 assetId) external;

    /// @notice The asset record (provider zero if unknown).
    /// @param assetId The asset id.
    /// @return The record.
    function getAsset(bytes32 assetId) external view returns (Asset memory);

    /// @notice Reverts unless the asset exists and is active; returns its provider.
    /// @param assetId The asset id.
    /// @return provider The asset's provider.
    function requireActiveAsset(bytes32 assetId) external view returns (address provider);

    /// @notice Reverts unless `owners`/`sharesBps` are the asset's registered owners.
    /// @param assetId The asset id.
    /// @param owners Claimed owners (empty for a provider-owned asset).
    /// @param sharesBps Claimed shares.
    function checkOwners(bytes32 assetId, address[] calldata owners, uint16[] calldata sharesBps) external view;

    /// @notice What a settlement needs to pay an asset's revenue (three storage reads, no events).
    /// @param assetId The asset id.
    /// @return provider The asset's provider (zero if unknown).
    /// @return ownersHash keccak256(abi.encode(owners, sharesBps)), 0 when the provider owns 100 %.
    /// @return parentsHash keccak256(abi.encode(parents)), 0 when the asset has no parents.
    function payoutOf(bytes32 assetId) external view returns (address provider, bytes32 ownersHash, bytes32 parentsHash);
}
