"""The notary service: the access ledger, receipts, sealed batches, anchored roots, proofs, folder anchoring.

Dependencies point down only: ``anchoring`` uses ``notary`` (hashing, trees, receipts, proofs), ``chain``
(AnchorRegistry) and ``domain``; the gateway writes the ledger (one access record per decision, with
its purpose) and this package reads it. Its process (:mod:`anchoring.process`) opens the database and
the anchoring key only: never the encrypted store or its master key.
"""
