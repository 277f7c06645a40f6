"""The gateway's HTTP API, one router per resource (``create_app`` includes them in this order):

- :mod:`gateway.api.meta`: /health, /eip712
- :mod:`gateway.api.catalog`: /catalog, /assets/{asset_id}
- :mod:`gateway.api.grants`: /grants, /grants/{grant_id}
- :mod:`gateway.api.sessions`: /session
- :mod:`gateway.api.data`: /assets/{asset_id}/data
- :mod:`gateway.api.receipts`: /receipts, /receipts/export, /receipts/{receipt_id}[/proof]

Beside them: :mod:`gateway.api.deps` (the dependencies tests override), :mod:`gateway.api.models`,
:mod:`gateway.api.openapi`, :mod:`gateway.api.errors` (exception handlers over the one error table
``gateway.errors.ERROR_TABLE``) and :mod:`gateway.api.middleware`.
"""
