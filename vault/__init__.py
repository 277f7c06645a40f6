"""Vault: the provider's encrypted file store and its master key (no gateway, chain or HTTP imports).

``store`` keeps each asset as AES-256-GCM chunks under a per-object data key wrapped by the master
key of ``keys``. Errors derive from :class:`vault.errors.StoreError`.
"""
