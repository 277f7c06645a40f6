"""Data services: API assets whose calls the gateway checks, proxies, meters and proves one by one.

- :mod:`services.description`: the service description (an OpenAPI 3 document, validated with
  ``openapi-spec-validator``; its SHA-256 is the asset id) and which method and path it declares.
- :mod:`services.registry`: the gateway-side configuration of each service (backend base URL,
  credentials, timeouts, size and rate limits), never on-chain and never shown to consumers.
- :mod:`services.proxy`: what crosses to the backend and back (path and header hygiene, the
  gateway's HMAC over each call) and the outbound HTTP pool.

The access decision and its record stay in :mod:`gateway.access` (the one writer of access records).
"""
