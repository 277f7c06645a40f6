"""An algorithm as one deterministic, uncompressed tar: the manifest plus its code files.

The same files always give the same bytes (names sorted, mode 0644, owner 0, mtime 0, USTAR), so the
bundle's SHA-256 is the algorithm's asset id and ``sha256sum`` agrees. :func:`pack` reads a directory
holding ``tds-algorithm.json`` or one ``.py`` file plus a manifest file; :func:`unpack` writes a
bundle's regular files, read-only, under a fresh directory and refuses anything else (links, devices,
absolute or ``..`` paths, too many or too large files).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

from compute.errors import BundleInvalid
from compute.manifest import MANIFEST_NAME, Manifest, parse

MAX_FILES = 256
MAX_BUNDLE_BYTES = 16 << 20


def pack(path: Path, manifest: Path | None = None) -> tuple[bytes, Manifest]:
    """The bundle of ``path`` (a directory, or one ``.py`` file with ``manifest``) and its parsed manifest."""
    files: dict[str, bytes] = {}
    if path.is_dir():
        if manifest is not None:
            raise BundleInvalid(f"{path} is a directory: its manifest is its own {MANIFEST_NAME}, drop --manifest")
        for item in sorted(path.rglob("*")):
            rel = item.relative_to(path).as_posix()
            if any(part.startswith(".") or part == "__pycache__" for part in rel.split("/")):
                continue
            if item.is_symlink():
                raise BundleInvalid(f"{item} is a symbolic link: a bundle holds regular files only")
            if item.is_file():
                files[rel] = item.read_bytes()
        if MANIFEST_NAME not in files:
            raise BundleInvalid(f"{path} has no {MANIFEST_NAME} (entry point, output kind and size, resources)")
    elif path.is_file():
        if manifest is None:
            sibling = path.with_name(MANIFEST_NAME)
            if not sibling.is_file():
                raise BundleInvalid(f"a single file needs its manifest: pass --manifest FILE or put {MANIFEST_NAME} "
                                    f"beside {path.name}")
            manifest = sibling
        files[path.name] = path.read_bytes()
        files[MANIFEST_NAME] = manifest.read_bytes()
    else:
        raise BundleInvalid(f"cannot read {path}: no such file or directory")
    parsed = parse(files[MANIFEST_NAME])
    if parsed.entry not in files:
        raise BundleInvalid(f"the manifest's entry {parsed.entry} is not a file of the bundle "
                            f"(files: {', '.join(sorted(files))[:300]})")
    return _tar(files), parsed


def _tar(files: dict[str, bytes]) -> bytes:
    if len(files) > MAX_FILES:
        raise BundleInvalid(f"a bundle holds at most {MAX_FILES} files, this one {len(files)}")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            data = files[name]
            if len(name.encode()) > 100:
                raise BundleInvalid(f"file name too long for a bundle (100 bytes): {name[:120]}")
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), 0o644, 0, 0, 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    raw = out.getvalue()
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleInvalid(f"the bundle is {len(raw)} bytes; at most {MAX_BUNDLE_BYTES}")
    return raw


def sha256_of(bundle: bytes) -> str:
    """The bundle's SHA-256 as 0x hex: the algorithm's asset id."""
    return "0x" + hashlib.sha256(bundle).hexdigest()


def read_manifest(bundle: bytes) -> Manifest:
    """The manifest of a bundle (without unpacking the code)."""
    return parse(members(bundle)[MANIFEST_NAME])


def unpack(bundle: bytes, dest: Path) -> Manifest:
    """Write the bundle's files under ``dest`` (created, must not exist), read-only; return its manifest."""
    files = members(bundle)
    manifest = parse(files[MANIFEST_NAME])
    if manifest.entry not in files:
        raise BundleInvalid(f"the manifest's entry {manifest.entry} is not in the bundle")
    dest.mkdir(mode=0o755)
    for name, data in files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return manifest


def members(bundle: bytes) -> dict[str, bytes]:
    """A bundle's files by name (size-capped, regular files only; BundleInvalid says what is wrong)."""
    if len(bundle) > MAX_BUNDLE_BYTES:
        raise BundleInvalid(f"the bundle is {len(bundle)} bytes; at most {MAX_BUNDLE_BYTES}")
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:") as tar:
            for info in tar:
                name = info.name
                parts = name.split("/")
                if not info.isreg() or name.startswith("/") or ".." in parts or "" in parts or "\\" in name:
                    raise BundleInvalid(f"the bundle holds {name[:100]!r}, which is not a plain relative file")
                if len(files) >= MAX_FILES:
                    raise BundleInvalid(f"the bundle holds more than {MAX_FILES} files")
                fh = tar.extractfile(info)
                assert fh is not None
                files[name] = fh.read()
    except tarfile.TarError as exc:
        raise BundleInvalid(f"not an algorithm bundle (tar): {exc}") from None
    if MANIFEST_NAME not in files:
        raise BundleInvalid(f"the bundle has no {MANIFEST_NAME}")
    return files
