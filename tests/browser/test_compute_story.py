"""Compute-to-data in a real browser: a consumer with a grant on a compute-only dataset cannot download it, picks
an approved algorithm on its grants page, signs the job in the page, and reads the result that came back (the
job ran in a real bubblewrap sandbox next to the data)."""

from __future__ import annotations

import json
import secrets
import shutil
from typing import Any

import pytest

from domain.types import Policy
from gateway.jobs import register_algorithm
from gateway.service import register_asset
from tests.browser.conftest import ConsoleEnv, new_page, unlock
from tests.browser.test_consumer_story import T, head
from tests.integration.compute_fixtures import AGGREGATE, people_csv

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed: "
                                "compute jobs cannot be sandboxed (apt-get install bubblewrap)")


def _algorithm(console: ConsoleEnv, title: str) -> str:
    d = console.env.home / f"browser-alg-{secrets.token_hex(3)}"
    d.mkdir()
    (d / "main.py").write_text(AGGREGATE + f"\n# {d.name}\n")
    (d / "tds-algorithm.json").write_text(json.dumps({
        "name": title, "description": "Clamped total and count of a column", "entry": "main.py",
        "output": {"kind": "json", "max_bytes": 4096},
        "resources": {"cpu_s": 5, "wall_s": 20, "memory_mb": 256, "pids": 16}}))
    reg, _ = register_algorithm(console.env.gateway, d)
    return reg.asset_id


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_consumer_runs_an_approved_algorithm_from_the_browser(browser: Any, console: ConsoleEnv, lang: str) -> None:
    word = f"incomes{secrets.token_hex(3)}"
    path = console.env.home / f"{word}.csv"  # per-person rows, registered compute-only
    path.write_bytes(people_csv(50, seed=secrets.randbits(32)))
    data = register_asset(console.env.gateway, path, Policy(compute_only=True, max_count=5), title=f"People {word}")
    algorithm = _algorithm(console, f"Income total {word}")
    console.env.gateway.compute_tx().set_approval(data.asset_id, algorithm, True)
    with console.env.client("consumer") as c:
        grant = c.request_grant(data.asset_id, "research", max_count=3)["grant_id"]

    page = new_page(browser, console, lang)
    page.goto(f"{console.url}/console/assets/{data.asset_id}")
    assert f"Income total {word}" in page.inner_text("#algorithms")  # the approved algorithm, readable by anyone
    unlock(page, console, "consumer")
    page.goto(f"{console.url}/console/consumer")
    row = page.locator(f"#grants tbody tr[data-grant='{grant}']")
    row.wait_for()
    assert row.locator("button.download").count() == 0  # compute-only: no raw bytes, only jobs
    row.locator("button.run-job").click()
    page.locator("#compute-algorithm option", has_text=f"Income total {word}").wait_for(state="attached")
    page.fill("#compute-params", '{"column": "income", "clamp": 150000}')
    page.click("#compute-submit")
    page.wait_for_selector("#compute-state.ok, #compute-state.error", timeout=90_000)
    state = page.inner_text("#compute-state")
    assert state.startswith(head(lang, "Job {job} succeeded: {n} bytes of result, SHA-256 {sha}.")), state
    result = json.loads(page.inner_text("#compute-answer"))
    assert result["count"] == 50 and result["total"] > 0
    page.locator(f"#grants tbody tr[data-grant='{grant}']").filter(has_text="2 / 3").wait_for()  # one use taken

    page.fill("#compute-params", "[1, 2]")  # bad input: refused in the page, nothing sent
    page.click("#compute-submit")
    assert page.inner_text("#compute-state") == T(lang, 'Parameters must be a JSON object, e.g. {"column": "income"}.')
    assert len(console.env.gateway.db.jobs(grant_id=grant)) == 1
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
