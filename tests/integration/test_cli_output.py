"""What people read: the `tds` CLI's human output (tables and key/value blocks), as a user types it.

What must hold: no Python reprs (``['provider']``, ``None``, ``True``, ``{'...'}``), no bare unix
seconds (dates are ISO 8601 UTC, ``2026-12-02 16:20:05 UTC``), ids never broken across lines, an
asset's title beside its hash wherever the title is known, participants named by their DID
(``did:pkh:eip155:<chainId>:<address>``) in audit output, in the JSON report and the HTML report,
and `audit report` counting bytes, not characters.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chain.eip712 import sign_acceptance, sign_grant_request
from chain.keys import Keystore
from domain.types import GrantRequest
from cli.main import main as tds_main
from tests.integration.conftest import Space

pytestmark = pytest.mark.integration

TITLE = "Wetter Zürich — Messwerte ✓"  # non-ASCII: 28 characters, more bytes
REPRS = re.compile(r"\['|\[\]|\{'|\bNone\b|\bTrue\b|\bFalse\b")
UNIX_SECONDS = re.compile(r"(?<![\w.:-])1[6-9]\d{8}(?![\w.:])")  # 2020..2033 as a bare number


@dataclass
class Story:
    """weather.csv (non-ASCII title) with a policy, a derived asset, one grant to the consumer (revoked)."""

    weather: str
    derived: str
    grant: str


def _human(text: str) -> str:
    """Fail on reprs and bare unix seconds; return the text."""
    assert not REPRS.search(text), f"a Python repr in human output: {REPRS.search(text)!r}\n{text}"
    assert not UNIX_SECONDS.search(text), f"unix seconds in human output: {UNIX_SECONDS.search(text)!r}\n{text}"
    return text


def _did(space: Space, name: str) -> str:
    return f"did:pkh:eip155:31337:{space.address(name)}"


def _json_of(space: Space, *args: str) -> Any:
    """`tds --home HOME ARGS... --json` in-process (module fixtures cannot use capsys); its parsed stdout."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = tds_main(["--home", str(space.home), *args, "--json"])
    assert code == 0, f"tds {' '.join(args)} exited {code}"
    return json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def story(space: Space, tmp_path_factory: pytest.TempPathFactory) -> Story:
    tmp = tmp_path_factory.mktemp("cli-output")
    weather_file = tmp / "weather.csv"
    weather_file.write_bytes(b"day,temp\n" + os.urandom(32).hex().encode())
    policy = json.dumps({"purposes": ["research"], "jurisdictions": ["DE", "FR"], "max_count": 5,
                         "not_after": int(time.time()) + 30 * 86400})
    weather = _json_of(space, "asset", "register", str(weather_file), "--title", TITLE, "--policy", policy)["asset_id"]
    derived_file = tmp / "monthly.csv"
    derived_file.write_bytes(b"month,temp\n" + os.urandom(32).hex().encode())
    derived = _json_of(space, "asset", "register", str(derived_file), "--title", "Monthly means",
                       "--parent", weather)["asset_id"]
    chain = space.chain()
    consumer = Keystore(space.settings.keystore_dir).account("consumer")
    now = int(time.time())
    _, _, grants = space.clients("provider")
    policy = grants.policy_state(weather)
    assert policy is not None
    req = GrantRequest(weather, consumer.address, "research", now - 60, now + 7 * 86400, 3, 0,
                       int.from_bytes(os.urandom(8), "big"), now + 3600, policy.epoch)
    sig = sign_grant_request(consumer, chain.chain_id, chain.address("UsageGrants"), req)
    provider = Keystore(space.settings.keystore_dir).account("provider")
    acceptance = sign_acceptance(provider, chain.chain_id, chain.address("UsageGrants"), grants.hash_request(req))
    grant, _ = grants.issue(req, sig, acceptance)
    grants.revoke(req)
    _json_of(space, "audit", "index")
    return Story(weather, derived, grant)


def _line_with(text: str, needle: str) -> str:
    lines = [line for line in text.splitlines() if needle in line]
    assert lines, f"{needle} not on any single line (wrapped?):\n{text}"
    return lines[0]


def test_asset_list_shows_titles_beside_whole_hashes(space: Space, story: Story,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("asset", "list", capsys=capsys)
    assert r.code == 0, r.err
    _human(r.out)
    assert TITLE in _line_with(r.out, story.weather)  # title beside the hash, the hash on one line
    assert "Monthly means" in _line_with(r.out, story.derived)
    assert _did(space, "provider") in _line_with(r.out, story.weather)


def test_asset_show_is_for_people(space: Space, story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("asset", "show", story.derived, capsys=capsys)
    assert r.code == 0, r.err
    _human(r.out)
    assert "Monthly means" in _line_with(r.out, f"asset {story.derived}")
    assert TITLE in _line_with(r.out, "parents")  # the parent by hash and title
    assert _did(space, "provider") in r.out
    w = space.tds("asset", "show", story.weather, capsys=capsys)
    policy = _line_with(_human(w.out), "policy")
    assert "purposes research" in policy and "jurisdictions DE, FR" in policy and " UTC" in policy


def test_participants_by_did_with_dates(space: Space, story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("participant", "list", capsys=capsys)
    assert r.code == 0, r.err
    line = _line_with(_human(r.out), _did(space, "consumer"))
    assert "consumer" in line and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", line)
    shown = space.tds("participant", "show", "consumer", capsys=capsys)
    assert _did(space, "consumer") in _human(shown.out) and " UTC" in _line_with(shown.out, "onboarded")


def test_audit_asset_names_participants_by_did(space: Space, story: Story,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("audit", "asset", story.weather, "--no-refresh", capsys=capsys)
    assert r.code == 0, r.err
    _human(r.out)
    assert TITLE in _line_with(r.out, f"asset {story.weather}")
    assert _did(space, "provider") in _line_with(r.out, "provider")
    assert _did(space, "consumer") in _line_with(r.out, story.grant)  # grants table: consumer by DID
    assert f"registered by {_did(space, 'provider')}" in r.out  # timeline (piped: one line per row)
    assert f"grant to {_did(space, 'consumer')}" in r.out and "revoked by " + _did(space, "provider") in r.out
    assert "Monthly means" in _line_with(r.out, "derived")
    for address in (space.address("provider"), space.address("consumer")):  # never a bare address
        assert all(f"did:pkh:eip155:31337:{address}" in line for line in r.out.splitlines() if address in line)


def test_audit_grant_and_participant(space: Space, story: Story, capsys: pytest.CaptureFixture[str]) -> None:
    g = space.tds("audit", "grant", story.grant, "--no-refresh", capsys=capsys)
    assert g.code == 0, g.err
    _human(g.out)
    assert re.search(r"from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC until \d{4}-\d\d-\d\d", _line_with(g.out, "window"))
    assert _did(space, "consumer") in _line_with(g.out, "consumer")
    assert _did(space, "provider") in _line_with(g.out, "revoked") and " UTC" in _line_with(g.out, "revoked")
    assert TITLE in _line_with(g.out, "asset")
    p = space.tds("audit", "participant", "consumer", "--no-refresh", capsys=capsys)
    assert p.code == 0, p.err
    assert _did(space, "consumer") in _line_with(_human(p.out), "participant")
    assert "onboarded by " + _did(space, "operator") in p.out


def test_audit_json_carries_dids_beside_addresses(space: Space, story: Story,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    js = space.tds("audit", "asset", story.weather, "--no-refresh", "--json", capsys=capsys).json()
    assert js["asset"]["provider"] == space.address("provider")  # the address stays, the DID stands beside it
    assert js["asset"]["provider_did"] == _did(space, "provider")
    (grant,) = [g for g in js["grants"] if g["grant_id"] == story.grant]
    assert grant["consumer_did"] == _did(space, "consumer") and grant["revoked"]["by_did"] == _did(space, "provider")
    p = space.tds("audit", "participant", "consumer", "--no-refresh", "--json", capsys=capsys).json()
    assert p["did"] == _did(space, "consumer")


def test_audit_report_html_and_json(space: Space, story: Story, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    r = space.tds("audit", "report", story.weather, "-o", str(out), "--no-refresh", capsys=capsys)
    assert r.code == 0, r.err
    assert f"({out.stat().st_size:,} bytes)" in r.err  # bytes on disk, not characters
    page = out.read_text(encoding="utf-8")
    assert TITLE in page and _did(space, "provider") in page and _did(space, "consumer") in page
    assert not UNIX_SECONDS.search(page.split("<details>")[0])  # the page body (signed requests are raw JSON)
    jf = tmp_path / "report.json"
    r = space.tds("audit", "report", story.weather, "--format", "json", "-o", str(jf), "--no-refresh",
                  capsys=capsys)
    assert r.code == 0 and f"({jf.stat().st_size:,} bytes)" in r.err
    data = json.loads(jf.read_text(encoding="utf-8"))
    assert data["titles"][story.weather] == TITLE and data["titles"][story.derived] == "Monthly means"
    assert data["history"]["asset"]["provider_did"] == _did(space, "provider")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["generated_at"])
