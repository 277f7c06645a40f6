"""Domain: the pure leaf of TDS, imported by every other package and importing none of them.

``types`` holds the frozen value types the chain returns (participants, assets, policies, grants),
``ids`` the one parser for ids, addresses and signatures, ``errors`` the domain's error tree.
"""
