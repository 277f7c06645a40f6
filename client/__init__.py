"""Client: the consumer SDK (signed calls, sessions, grant requests) for a TDS gateway.

It imports only ``chain.eip712`` and ``domain``, never the gateway, SQL or a web3 node client, so a
consumer can ``pip install`` and use it next to its own code.
"""
