"""bench.gateway's choice of load generator: never a silent fallback to the Python generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.gateway import SETUP_SCRIPT, choose_generator, generator_version


def test_without_wrk_auto_falls_back_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no wrk anywhere
    generator, note = choose_generator("auto", setup=False)
    assert generator == "python"
    assert note is not None and "bench-setup" in note and "bottleneck" in note
    assert "WARNING: wrk is not installed" in capsys.readouterr().out
    assert generator_version("python").startswith("python 3.")


def test_without_wrk_an_explicit_wrk_fails_naming_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="scripts/bench-setup"):
        choose_generator("wrk", setup=False)


def test_with_wrk_it_is_chosen_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "wrk"
    fake.write_text("#!/bin/sh\necho 'wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose_generator("auto", setup=False) == ("wrk", None)
    assert generator_version("wrk") == "wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer"


def test_the_setup_script_is_shipped_executable() -> None:
    assert SETUP_SCRIPT.is_file() and SETUP_SCRIPT.stat().st_mode & 0o111
