"""Behaviour of the gateway's encrypted file store (vault.store)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import stat
from pathlib import Path

import pytest

from domain.errors import InvalidId
from vault.errors import (
    AssetAlreadyStored,
    AssetNotFound,
    StoreError,
    InvalidRange,
    MasterKeyError,
    StoredFileTampered,
    WrongMasterKey,
)
from vault.store import (
    EncryptedStore,
    MasterKey,
    StoredObject,
    normalize_asset_id,
)

CHUNK = 4096
TAG = 16
AID = "0x" + "ab" * 32
AID2 = "0x" + "cd" * 32


@pytest.fixture
def key() -> MasterKey:
    return MasterKey(os.urandom(32))


@pytest.fixture
def store(tmp_path: Path, key: MasterKey) -> EncryptedStore:
    return EncryptedStore(tmp_path / "store", key, chunk_size=CHUNK)


def read_all(store: EncryptedStore, asset_id: str = AID, **kw: object) -> bytes:
    return b"".join(store.open_range(asset_id, **kw))  # type: ignore[arg-type]


def data_path(store: EncryptedStore, asset_id: str = AID) -> Path:
    return store.root / asset_id[2:] / "data.bin"


def header_path(store: EncryptedStore, asset_id: str = AID) -> Path:
    return store.root / asset_id[2:] / "header.json"


# ---- round trips -----------------------------------------------------------


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17, 5 * 1024 * 1024 + 3]
)
def test_roundtrip_matches_plaintext_and_sha256(store: EncryptedStore, size: int) -> None:
    data = os.urandom(size)
    stored = store.put_bytes(AID, data)
    assert stored == StoredObject(size, hashlib.sha256(data).digest(), CHUNK, AID)
    assert read_all(store, expected_sha256=hashlib.sha256(data).digest()) == data
    assert store.stat(AID) == stored
    assert store.verify(AID, hashlib.sha256(data).digest())


def test_put_from_file_streams_with_progress(store: EncryptedStore, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    data = os.urandom(2 * CHUNK + 5)
    src.write_bytes(data)
    seen: list[int] = []
    stored = store.put(AID, src, progress=seen.append)
    assert seen == [CHUNK, 2 * CHUNK, 2 * CHUNK + 5]
    assert stored.sha256_hex == hashlib.sha256(data).hexdigest()
    assert read_all(store) == data


def test_layout_on_disk(store: EncryptedStore) -> None:
    data = os.urandom(2 * CHUNK + 100)
    store.put_bytes(AID, data)
    header = json.loads(header_path(store).read_text())
    assert header["version"] == 1
    assert header["chunk_size"] == CHUNK
    assert header["plaintext_size"] == len(data)
    assert header["chunk_count"] == 3
    assert header["sha256"] == hashlib.sha256(data).hexdigest()
    assert {"wrapped_key", "nonce_prefix"} <= header.keys()
    raw = data_path(store).read_bytes()
    assert len(raw) == len(data) + 3 * TAG
    assert data[:64] not in raw  # stored encrypted
    assert sorted(p.name for p in store.root.iterdir()) == [".tmp", ".trash", AID[2:]]


def test_empty_object_still_has_an_authenticated_chunk(store: EncryptedStore) -> None:
    store.put_bytes(AID, b"")
    assert data_path(store).stat().st_size == TAG
    assert list(store.open_range(AID)) == []


# ---- ranges ------------------------------------------------------------------

RANGES = [
    (0, 1),
    (0, CHUNK),
    (CHUNK - 1, CHUNK + 1),
    (CHUNK, 2 * CHUNK),
    (CHUNK, CHUNK),
    (5, 3 * CHUNK + 10),
    (2 * CHUNK + 1, None),
    (3 * CHUNK, None),
    (3 * CHUNK + 9, 3 * CHUNK + 10),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_range_reads_at_chunk_boundaries(
    store: EncryptedStore, start: int, end: int | None
) -> None:
    data = os.urandom(3 * CHUNK + 10)
    store.put_bytes(AID, data)
    reader = store.open_range(AID, start, end)
    out = b"".join(reader)
    assert out == data[start:end]
    assert reader.length == len(out)


def test_range_only_decrypts_needed_chunks(store: EncryptedStore) -> None:
    data = os.urandom(4 * CHUNK)
    store.put_bytes(AID, data)
    with data_path(store).open("r+b") as fh:  # corrupt chunk 0 only
        fh.write(b"\x00" * 4)
    assert read_all(store, start=2 * CHUNK, end=3 * CHUNK) == data[2 * CHUNK : 3 * CHUNK]
    with pytest.raises(StoredFileTampered):
        read_all(store, start=10, end=20)


@pytest.mark.parametrize(("start", "end"), [(-1, None), (0, 101), (50, 40), (101, None)])
def test_invalid_range_is_refused(store: EncryptedStore, start: int, end: int | None) -> None:
    store.put_bytes(AID, b"x" * 100)
    with pytest.raises(InvalidRange):
        store.open_range(AID, start, end)


def test_range_with_wrong_expected_hash_is_refused_upfront(store: EncryptedStore) -> None:
    store.put_bytes(AID, b"x" * 100)
    with pytest.raises(StoredFileTampered):
        store.open_range(AID, 10, 20, expected_sha256=b"\x00" * 32)


# ---- tampering ---------------------------------------------------------------


def test_flipped_ciphertext_byte_is_tampered(store: EncryptedStore) -> None:
    data = os.urandom(3 * CHUNK)
    store.put_bytes(AID, data)
    raw = bytearray(data_path(store).read_bytes())
    raw[CHUNK + TAG + 7] ^= 0x01  # inside chunk 1
    data_path(store).write_bytes(bytes(raw))
    reader = store.open_range(AID)
    assert next(reader) == data[:CHUNK]  # chunk 0 is fine
    with pytest.raises(StoredFileTampered, match="chunk 1"):
        next(reader)  # chunk 1 never reaches the caller
    assert not store.verify(AID)


def test_swapped_chunks_are_tampered(store: EncryptedStore) -> None:
    store.put_bytes(AID, os.urandom(3 * CHUNK))
    raw = data_path(store).read_bytes()
    n = CHUNK + TAG
    data_path(store).write_bytes(raw[n : 2 * n] + raw[:n] + raw[2 * n :])
    with pytest.raises(StoredFileTampered, match="chunk 0"):
        read_all(store)


@pytest.mark.parametrize("cut", [1, TAG, CHUNK + TAG])
def test_truncated_data_is_tampered(store: EncryptedStore, cut: int) -> None:
    store.put_bytes(AID, os.urandom(3 * CHUNK))
    raw = data_path(store).read_bytes()
    data_path(store).write_bytes(raw[:-cut])
    with pytest.raises(StoredFileTampered):
        read_all(store)
    assert not store.verify(AID)


def test_dropping_last_chunk_and_editing_header_is_tampered(store: EncryptedStore) -> None:
    store.put_bytes(AID, os.urandom(3 * CHUNK))
    raw = data_path(store).read_bytes()
    data_path(store).write_bytes(raw[: 2 * (CHUNK + TAG)])
    header = json.loads(header_path(store).read_text())
    header.update(plaintext_size=2 * CHUNK, chunk_count=2)
    header_path(store).write_text(json.dumps(header))
    with pytest.raises(StoredFileTampered):
        read_all(store)


def test_chunk_moved_between_assets_is_tampered(store: EncryptedStore) -> None:
    store.put_bytes(AID, b"a" * CHUNK)
    store.put_bytes(AID2, b"b" * CHUNK)
    data_path(store, AID2).write_bytes(data_path(store, AID).read_bytes())
    with pytest.raises(StoredFileTampered):
        read_all(store, AID2)


def test_edited_header_sha256_is_tampered(store: EncryptedStore) -> None:
    store.put_bytes(AID, os.urandom(2 * CHUNK))
    header = json.loads(header_path(store).read_text())
    header["sha256"] = "00" * 32
    header_path(store).write_text(json.dumps(header))
    with pytest.raises(StoredFileTampered, match="header"):
        read_all(store)
    with pytest.raises(StoredFileTampered):
        store.stat(AID)
    assert not store.verify(AID)


def test_hash_mismatch_raises_after_last_chunk(store: EncryptedStore, key: MasterKey) -> None:
    """Even with a validly re-MACed header (key holder or bug), the stream hash catches it."""
    from vault import store as mod

    data = os.urandom(2 * CHUNK)
    store.put_bytes(AID, data)
    header = json.loads(header_path(store).read_text())
    del header["header_mac"]
    header["sha256"] = "11" * 32
    data_key = key._unwrap(mod._b64(header["wrapped_key"]))
    mac = hmac.new(mod._derive(data_key, b"header-mac"), mod._canonical(header), hashlib.sha256)
    header["header_mac"] = mod.base64.b64encode(mac.digest()).decode()
    header_path(store).write_text(json.dumps(header))

    reader = store.open_range(AID)
    chunks = [next(reader), next(reader)]
    assert b"".join(chunks) == data
    with pytest.raises(StoredFileTampered, match="SHA-256"):
        next(reader)


def test_wrong_expected_sha256_on_full_read(store: EncryptedStore) -> None:
    store.put_bytes(AID, b"hello")
    with pytest.raises(StoredFileTampered, match="expected"):
        read_all(store, expected_sha256=hashlib.sha256(b"other").digest())
    assert not store.verify(AID, hashlib.sha256(b"other").digest())


def test_wrong_master_key_is_a_clear_error(store: EncryptedStore, key: MasterKey) -> None:
    store.put_bytes(AID, b"secret")
    other = EncryptedStore(store.root, MasterKey(os.urandom(32)))
    with pytest.raises(WrongMasterKey, match=key.key_id) as err:
        read_all(other)
    assert err.value.asset_id == AID
    with pytest.raises(WrongMasterKey):
        other.verify(AID)


# ---- asset ids, lifecycle -------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "../etc/passwd",
        "0x" + "a" * 63,
        "0x" + "a" * 65,
        "ab" * 32,
        "0X" + "ab" * 32,
        "0x" + "g" * 64,
        "0x" + "ab" * 31 + "/.",
        "0x" + "ab" * 32 + "\n",
        " 0x" + "ab" * 32,
        "0x" + "\uff10" * 64,  # full-width digits
        "",
        b"\xab" * 32,
        None,
    ],
)
def test_invalid_asset_ids_are_refused(store: EncryptedStore, bad: object) -> None:
    with pytest.raises(InvalidId):
        store.put_bytes(bad, b"x")  # type: ignore[arg-type]
    with pytest.raises(InvalidId):
        store.has(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"invalid asset id .*expected '0x' \+ 64 hex digits"):
        store.stat(bad)  # type: ignore[arg-type]  # InvalidId is a ValueError too


def test_mixed_case_asset_id_is_normalised(store: EncryptedStore) -> None:
    mixed = "0x" + "aB" * 32
    assert normalize_asset_id(mixed) == AID
    stored = store.put_bytes(mixed, b"x")
    assert stored.asset_id == AID
    assert store.has(AID) and store.has(mixed.upper().replace("0X", "0x"))


def test_put_existing_asset_requires_overwrite(store: EncryptedStore) -> None:
    store.put_bytes(AID, b"one")
    with pytest.raises(AssetAlreadyStored):
        store.put_bytes(AID, b"two")
    store.put_bytes(AID, b"two", overwrite=True)
    assert read_all(store) == b"two"
    assert list((store.root / ".trash").iterdir()) == []


def test_failed_put_leaves_nothing_behind(store: EncryptedStore) -> None:
    class Boom(Exception):
        pass

    def progress(done: int) -> None:
        if done >= 2 * CHUNK:
            raise Boom

    class Src:
        def __init__(self) -> None:
            self.left = 5 * CHUNK

        def readinto(self, buf: memoryview) -> int:
            n = min(len(buf), self.left)
            buf[:n] = b"z" * n
            self.left -= n
            return n

    with pytest.raises(Boom):
        store.put_stream(AID, Src(), progress)  # type: ignore[arg-type]
    assert not store.has(AID)
    assert list((store.root / ".tmp").iterdir()) == []
    assert sorted(p.name for p in store.root.iterdir()) == [".tmp", ".trash"]


def test_missing_source_leaves_nothing_behind(store: EncryptedStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.put(AID, tmp_path / "nope")
    assert not store.has(AID)
    assert list((store.root / ".tmp").iterdir()) == []


def test_delete(store: EncryptedStore) -> None:
    store.put_bytes(AID, b"x")
    store.delete(AID)
    assert not store.has(AID)
    with pytest.raises(AssetNotFound):
        store.delete(AID)
    store.delete(AID, missing_ok=True)
    with pytest.raises(AssetNotFound):
        store.open_range(AID)
    with pytest.raises(AssetNotFound):
        store.stat(AID)


def test_reader_keeps_serving_object_deleted_mid_stream(store: EncryptedStore) -> None:
    data = os.urandom(3 * CHUNK)
    store.put_bytes(AID, data)
    reader = store.open_range(AID)
    first = next(reader)
    store.delete(AID)
    assert first + b"".join(reader) == data


# ---- master key ------------------------------------------------------------------


def test_generate_writes_private_file_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    key = MasterKey.generate(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKey.from_file(path) == key
    with pytest.raises(MasterKeyError, match="exists"):
        MasterKey.generate(path)


def test_from_file_accepts_raw_bytes_and_refuses_open_permissions(tmp_path: Path) -> None:
    path = tmp_path / "raw.key"
    raw = os.urandom(32)
    path.write_bytes(raw)
    path.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        MasterKey.from_file(path)
    assert MasterKey.from_file(path, require_private=False) == MasterKey(raw)
    path.chmod(0o600)
    assert MasterKey.from_file(path) == MasterKey(raw)


@pytest.mark.parametrize("content", [b"", b"abc", b"zz" * 32, os.urandom(31), b"ab" * 33])
def test_from_file_rejects_malformed_keys(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(MasterKeyError) as err:
        MasterKey.from_file(path)
    assert content.hex() not in str(err.value) or not content


def test_from_env(tmp_path: Path) -> None:
    raw = os.urandom(32)
    assert MasterKey.from_env(environ={"TDS_GATEWAY_MASTER_KEY": raw.hex()}) == MasterKey(raw)
    padded = {"TDS_GATEWAY_MASTER_KEY": "0x" + raw.hex() + "\n"}
    assert MasterKey.from_env(environ=padded) == MasterKey(raw)
    with pytest.raises(MasterKeyError, match="TDS_GATEWAY_MASTER_KEY"):
        MasterKey.from_env(environ={})
    with pytest.raises(MasterKeyError) as err:
        MasterKey.from_env(environ={"TDS_GATEWAY_MASTER_KEY": raw.hex()[:-2]})
    assert raw.hex()[:-2] not in str(err.value)


def test_key_material_never_shown(tmp_path: Path, key: MasterKey) -> None:
    secret = key._key
    store = EncryptedStore(tmp_path / "s", key)
    for text in (repr(key), str(key), repr(store), f"{key}"):
        assert secret.hex() not in text and repr(secret) not in text
    assert key.key_id in repr(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(MasterKeyError):
        MasterKey(b"short")


def test_header_edited_after_a_cached_read_is_still_caught(store: EncryptedStore) -> None:
    data = os.urandom(3 * CHUNK + 5)
    store.put_bytes(AID, data)
    assert read_all(store, expected_sha256=hashlib.sha256(data).digest()) == data  # header now cached
    header_path = store.root / AID[2:] / "header.json"
    header = json.loads(header_path.read_text())
    header["size"] = header.get("size", 0) + 1 if "size" in header else 1
    header_path.write_text(json.dumps(header))
    with pytest.raises(StoredFileTampered):
        read_all(store)
