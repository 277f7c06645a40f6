"""Every route is a named function of a router module, and the routers serve the documented API."""

from __future__ import annotations

import importlib

from fastapi import FastAPI
from fastapi.routing import APIRoute

from gateway.api.openapi import openapi_document
from gateway.app import ROUTERS

API = [  # (method, path, route function), in the order the OpenAPI document lists them
    ("GET", "/health", "gateway.api.meta.health"),
    ("GET", "/eip712", "gateway.api.meta.eip712"),
    ("GET", "/catalog", "gateway.api.catalog.get_catalog"),
    ("GET", "/assets/{asset_id}", "gateway.api.catalog.get_asset"),
    ("GET", "/grants", "gateway.api.grants.list_grants"),
    ("POST", "/grants", "gateway.api.grants.post_grant"),
    ("GET", "/grants/{grant_id}", "gateway.api.grants.get_grant"),
    ("POST", "/session", "gateway.api.sessions.post_session"),
    ("GET", "/assets/{asset_id}/data", "gateway.api.data.get_data"),
    ("GET", "/services/{asset_id}", "gateway.api.services.get_description"),
    *((m, "/services/{asset_id}/{path:path}", "gateway.api.services.call_service")
      for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")),
    ("POST", "/compute/jobs", "gateway.api.compute.post_job"),
    ("GET", "/compute/jobs/{job_id}", "gateway.api.compute.get_job"),
    ("GET", "/compute/jobs/{job_id}/result", "gateway.api.compute.get_result"),
    ("POST", "/compute/jobs/{job_id}/cancel", "gateway.api.compute.cancel_job"),
    ("GET", "/receipts", "gateway.api.receipts.list_receipts"),
    ("GET", "/receipts/export", "gateway.api.receipts.export_receipts"),
    ("GET", "/receipts/{receipt_id}", "gateway.api.receipts.get_receipt"),
    ("GET", "/receipts/{receipt_id}/proof", "gateway.api.receipts.get_receipt_proof"),
    ("GET", "/provider/requests", "gateway.api.provider.list_requests"),
    ("POST", "/provider/grants/{grant_id}/approve", "gateway.api.provider.approve"),
    ("POST", "/provider/grants/{grant_id}/deny", "gateway.api.provider.deny"),
    ("POST", "/provider/grants/{grant_id}/revoke", "gateway.api.provider.revoke"),
    ("GET", "/provider/incidents", "gateway.api.provider.incidents"),
    ("GET", "/provider/usage", "gateway.api.provider.usage_route"),
]


def _app() -> FastAPI:
    app = FastAPI(title="TDS Gateway", version="1")
    for router in ROUTERS:
        app.include_router(router)
    return app


def test_every_route_is_a_module_level_function_of_a_router() -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    served = [(m, r.path, f"{r.endpoint.__module__}.{r.endpoint.__qualname__}") for r in routes for m in r.methods]
    assert served == API
    for _, _, name in API:
        module, function = name.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function))


def test_the_openapi_document_lists_the_same_operations() -> None:
    doc = openapi_document(_app())
    operations = [(method.upper(), path) for path, item in doc["paths"].items() for method in item]
    assert operations == [(m, p.replace(":path}", "}")) for m, p, _ in API]
    assert {"ErrorBody", "GrantSubmission", "SessionRequest", "GrantPublic", "HealthPublic"} <= set(
        doc["components"]["schemas"])
    security = {path: op.get("security") for path, item in doc["paths"].items() for op in item.values()}
    assert security["/receipts"] == [{s: [] for s in ("tdsAddress", "tdsGateway", "tdsNonce", "tdsExpiry",
                                                       "tdsSignature")}]
    assert len(security["/assets/{asset_id}/data"]) == 2 and security["/catalog"] is None
    assert all(security[p] == security["/receipts"] for p in doc["paths"] if p.startswith("/provider/"))  # signed only
