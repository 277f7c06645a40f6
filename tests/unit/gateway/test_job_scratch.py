"""Where a job's input is decrypted: the operator's ``compute_scratch_dir``, else /dev/shm, else the gateway dir."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

from gateway.jobs import _scratch_root
from gateway.settings import GatewaySettings


def test_a_configured_scratch_dir_is_used_and_made_private(tmp_path: Path) -> None:
    gw = SimpleNamespace(settings=GatewaySettings(home=tmp_path, compute_scratch_dir="big-disk/scratch"))
    root = _scratch_root(gw)  # type: ignore[arg-type]
    assert root == tmp_path / "big-disk" / "scratch" and root.is_dir()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_without_one_memory_is_preferred(tmp_path: Path) -> None:
    gw = SimpleNamespace(settings=GatewaySettings(home=tmp_path))
    shm = Path("/dev/shm")
    expected = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path / "gateway" / "compute" / "scratch"
    assert _scratch_root(gw) == expected  # type: ignore[arg-type]
