"""Manifests, bundles and the differentially private release (compute.manifest, .bundle, .privacy)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from compute import bundle, privacy
from compute.errors import BundleInvalid, ManifestInvalid
from compute.manifest import MANIFEST_NAME, parse

DP = {"name": "total", "entry": "main.py",
      "output": {"kind": "dp_aggregate", "max_bytes": 512, "values": {"total": {"sensitivity": 100}}}}


def _dir(tmp_path: Path, manifest: dict | None = None) -> Path:
    d = tmp_path / "alg"
    d.mkdir()
    (d / "main.py").write_text("print(1)\n")
    (d / MANIFEST_NAME).write_text(json.dumps(manifest or DP))
    return d


def test_bundle_is_deterministic_and_its_hash_is_sha256sum(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    first, manifest = bundle.pack(d)
    (d / "main.py").touch()  # a new mtime changes nothing
    second, _ = bundle.pack(d)
    assert first == second and manifest.private
    assert bundle.sha256_of(first) == "0x" + hashlib.sha256(first).hexdigest()
    out = tmp_path / "out"
    assert bundle.unpack(first, out).entry == "main.py"
    assert (out / "main.py").read_text() == "print(1)\n" and not (out / "main.py").stat().st_mode & 0o222


def test_single_file_needs_a_manifest(tmp_path: Path) -> None:
    f = tmp_path / "solo.py"
    f.write_text("print(1)\n")
    with pytest.raises(BundleInvalid, match="--manifest"):
        bundle.pack(f)
    m = tmp_path / "m.json"
    m.write_text(json.dumps({**DP, "entry": "solo.py"}))
    raw, manifest = bundle.pack(f, m)
    assert manifest.entry == "solo.py" and bundle.read_manifest(raw).name == "total"


def test_a_bundle_with_a_link_or_a_dotdot_path_is_refused(tmp_path: Path) -> None:
    for info in (tarfile.TarInfo("../escape.py"), _link()):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            data = json.dumps(DP).encode()
            m = tarfile.TarInfo(MANIFEST_NAME)
            m.size = len(data)
            tar.addfile(m, io.BytesIO(data))
            tar.addfile(info, io.BytesIO(b"") if info.isreg() else None)
        with pytest.raises(BundleInvalid, match="not a plain relative file"):
            bundle.unpack(raw.getvalue(), tmp_path / f"u{id(info)}")


def _link() -> tarfile.TarInfo:
    info = tarfile.TarInfo("main.py")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return info


@pytest.mark.parametrize("change, message", [
    ({"entry": "../x.py"}, "entry"), ({"output": {"kind": "pickle"}}, "output.kind"),
    ({"output": {"kind": "dp_aggregate"}}, "declares its values"),
    ({"output": {"kind": "dp_aggregate", "values": {"x": {"sensitivity": -1}}}}, "sensitivity"),
    ({"resources": {"memory_mb": 0}}, "memory_mb"), ({"network": True}, "unknown field"),
    ({"inputs": ["a", "b"]}, "inputs")])
def test_bad_manifests_say_what_is_wrong(change: dict, message: str) -> None:
    with pytest.raises(ManifestInvalid, match=message):
        parse({**DP, **change})


def test_release_adds_laplace_noise_of_the_declared_scale() -> None:
    m = parse(DP)
    micros = privacy.epsilon_micros(0.5)
    assert micros == 500_000
    draws = [privacy.release(m, {"total": 1000.0}, micros)["values"]["total"] for _ in range(400)]
    assert len(set(draws)) == 400  # noise, not the exact value
    mean_abs = sum(abs(d - 1000.0) for d in draws) / len(draws)
    assert 120 < mean_abs < 290  # E|Laplace(b)| = b = 100 / 0.5 = 200
    doc = privacy.release(m, {"total": 1.0}, micros)
    assert doc["epsilon"] == 0.5 and doc["noise_scale"] == {"total": 200.0}


def test_epsilon_is_kept_in_millionths() -> None:
    assert privacy.epsilon_micros("0.1") == 100_000
    assert privacy.epsilon_micros(1e-9) == 1
    for bad in (0, -1, float("nan"), 1e9):
        with pytest.raises(ValueError):
            privacy.epsilon_micros(bad)
