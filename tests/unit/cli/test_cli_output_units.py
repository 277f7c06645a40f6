"""cli.output: values for people (no reprs, ISO dates, DIDs), tables that never break an id, byte counts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import cli.output as output
from cli.output import did, human, table, titled, when, window, write_text

ID = "0x" + "ab" * 32
DID = "did:pkh:eip155:31337:0x" + "12" * 20


def test_human_values_have_no_python_reprs() -> None:
    assert human(None) == "—"
    assert human(True) == "yes" and human(False) == "no"
    assert human(["provider", "consumer"]) == "provider, consumer" and human([]) == "none"
    assert human({"a": 1, "b": None}) == "a 1; b —"
    assert human(0.5) == "0.5" and human(7) == "7"


def test_dates_are_iso_utc_and_open_bounds_say_so() -> None:
    assert when(1_796_228_405) == "2026-12-02 16:20:05 UTC"
    assert when(0) == "open" and when(None, zero="never") == "never" and when(2**64 - 1) == "open"
    assert window(0, 1_796_228_405) == "from open until 2026-12-02 16:20:05 UTC"


def test_participants_and_assets_for_people() -> None:
    assert did(31337, "0x" + "12" * 20) == DID and did(None, "0xabc") == "0xabc" and did(1, None) == "—"
    assert titled(ID, "Weather") == f"{ID} (Weather)" and titled(ID, None) == ID


@pytest.mark.parametrize("terminal", [True, False])
def test_tables_never_break_ids(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    buf = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=buf, width=60, force_terminal=terminal, color_system=None))
    table(["asset id", "title", "provider", "what"],
          [[ID, "A long title that may wrap between its words", DID, ["x", "y"]],
           ["0x" + "cd" * 32, None, DID, True]])
    text = buf.getvalue()
    assert ID in text and "0x" + "cd" * 32 in text and DID in text  # each whole, on one line
    assert "None" not in text and "True" not in text and "['" not in text
    assert output.out.width == 60  # the console is left as it was


def test_write_text_counts_bytes_not_characters(tmp_path: Path) -> None:
    text = "<h1>Wetter Zürich — Messwerte ✓</h1>\n"
    path = tmp_path / "report.html"
    written = write_text(path, text)
    assert written == path.stat().st_size == len(text.encode("utf-8")) and written > len(text)
    assert path.read_text(encoding="utf-8") == text


def test_gateway_answers_are_printed_without_reprs_or_unix_seconds() -> None:
    from cli.commands_gateway import _grant_view, _summarise_offer

    answer = {"grant_id": ID, "state": "issued", "liveness": "live", "used": 1, "max_count": 5, "reason": None,
              "tx": None, "request": {"asset_id": ID, "consumer": "0x" + "12" * 20, "purpose": "research",
                                      "not_before": 0, "not_after": 1_796_228_405, "max_count": 5,
                                      "price_per_access": 0, "nonce": 7, "deadline": 1_796_228_405}}
    view = {k: human(v) for k, v in _grant_view(answer).items()}
    assert view["uses"] == "1 of 5" and view["window"] == "from open until 2026-12-02 16:20:05 UTC"
    assert view["reason"] == "—" and "request" not in view
    assert not any("{" in v or "None" in v or "1796228405" in v for v in view.values())
    offer = {"odrl:permission": [{"odrl:action": {"@id": "odrl:use"}, "odrl:constraint": [
        {"odrl:leftOperand": "odrl:purpose", "odrl:operator": {"@id": "odrl:isAnyOf"},
         "odrl:rightOperand": ["research", "teaching"]},
        {"odrl:leftOperand": "odrl:count", "odrl:operator": {"@id": "odrl:lteq"}, "odrl:rightOperand": 5}]}]}
    assert _summarise_offer(offer) == "use; purpose any of research, teaching; count <= 5"
