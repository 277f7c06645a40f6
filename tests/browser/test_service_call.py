"""A data service called from the browser: a consumer's grant on an API (数据产品 as a service) gets a Call form on
its grants page; the signed call reaches the real backend process through the gateway, one use each, and a path the
service does not declare is refused with the reason (nothing reaches the backend)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from chain.devspace import free_port
from domain.types import Policy
from tests.browser.conftest import ConsoleEnv, new_page, unlock
from tests.integration.service_fixtures import SECRET_ENV, ServiceEnv, start_backend


@pytest.fixture(scope="module")
def service(console: ConsoleEnv) -> Iterator[ServiceEnv]:
    secret = os.urandom(32).hex()
    os.environ[SECRET_ENV] = secret
    port = free_port()
    proc = start_backend(port, secret)
    try:
        yield ServiceEnv(console.env, f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_consumer_calls_a_data_service_from_its_grants_page(browser: Any, console: ConsoleEnv,
                                                              service: ServiceEnv) -> None:
    service_id, grant = service.granted_service(Policy(max_count=3), max_count=2)
    page = new_page(browser, console)
    unlock(page, console, "consumer")
    page.goto(f"{console.url}/console/consumer")
    row = page.locator(f"#grants tbody tr[data-grant='{grant}']")
    row.wait_for()
    assert row.locator("button.download").count() == 0  # an API has no file to download
    row.locator("button.call").click()
    before = service.hits()
    page.fill("#call-path", "/scores/91330200MA2DEMO01")
    page.click("#call-form button[type=submit]")
    page.locator("#call-answer", has_text="score").wait_for()
    answer = json.loads(page.inner_text("#call-answer"))
    assert answer["company"] == "91330200MA2DEMO01" and answer["score"] == 810
    assert service.hits() == before + 1
    page.locator(f"#grants tbody tr[data-grant='{grant}']").filter(has_text="1 / 2").wait_for()

    page.fill("#call-path", "/admin/export")  # not in the service's description
    page.click("#call-form button[type=submit]")
    page.locator("#call-answer", has_text="Refused").wait_for()
    assert "operation_not_declared" in page.inner_text("#call-answer")
    assert service.hits() == before + 1  # nothing reached the backend
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
    del service_id
