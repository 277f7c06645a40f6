"""Audit: rebuild the data space's history from chain events alone, and check it.

``indexer`` follows the TDS contracts' events into SQL tables (``db``), ``queries`` answers
asset / participant / grant histories from them, ``verify`` checks proof documents against the
chain, ``check`` flags anything that does not add up, ``report`` renders an asset's story,
``api`` serves the queries read-only over HTTP. Errors derive from :class:`audit.errors.AuditError`.
"""
