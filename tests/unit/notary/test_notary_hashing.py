"""sha256_file agrees with hashlib and sha256sum, and fails clearly."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from notary.errors import FileUnreadable, NotaryError
from notary.hashing import CHUNK_SIZE, sha256_file, sha256_hex


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 17])
def test_agrees_with_hashlib(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).digest()
    assert sha256_hex(str(path)) == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_agrees_with_sha256sum(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(CHUNK_SIZE + 12345))
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    assert sha256_hex(path) == out.stdout.split()[0]


def test_progress_reports_running_total(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * (2 * CHUNK_SIZE + 5))
    seen: list[int] = []
    sha256_file(path, progress=seen.append)
    assert seen == [CHUNK_SIZE, 2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 5]


def test_missing_file_raises_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable, match="nope.bin") as info:
        sha256_file(tmp_path / "nope.bin")
    assert isinstance(info.value, NotaryError)
    assert "No such file" in info.value.reason


def test_directory_raises_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable, match="directory"):
        sha256_file(tmp_path)
