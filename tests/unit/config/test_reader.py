"""The one settings reader: precedence, types, errors that name the fix, and the hand-down to child processes."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from anchoring.settings import NotarySettings
from audit.db import AuditSettings
from chain.settings import ChainSettings
from config.reader import SettingsError
from chain.keys import PASSPHRASE_ENV
from gateway.settings import GatewaySettings
from vault.keys import MASTER_KEY_ENV

ROOT = Path(__file__).resolve().parents[3]


def write_config(home: Path, data: dict[str, object]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps(data))


def test_environment_over_config_over_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, {"gateway": {"port": 8800, "public_url": "https://gw.example", "unknown": 1},
                            "chain": {"rpc_url": "http://127.0.0.1:9999", "poa": True}})
    gw = GatewaySettings.load(tmp_path, env={"TDS_GATEWAY_PORT": "8801"})
    assert (gw.port, gw.public_url, gw.host) == (8801, "https://gw.example", "127.0.0.1")
    chain = ChainSettings.load(tmp_path, env={"TDS_CHAIN_ID": "1337"})
    assert (chain.rpc_url, chain.poa, chain.chain_id) == ("http://127.0.0.1:9999", True, 1337)
    assert ChainSettings.load(tmp_path, env={"TDS_POA": "no", "TDS_CHAIN_ID": ""}).poa is False  # empty: ignored
    assert GatewaySettings.load(tmp_path, env={"TDS_HOME": "/elsewhere"}).home == tmp_path  # an explicit home wins
    assert GatewaySettings.load(env={"TDS_HOME": str(tmp_path)}).port == 8800


def test_values_are_coerced_to_the_field_types(tmp_path: Path) -> None:
    env = {"TDS_GATEWAY_MAX_BLOCK_AGE_S": "12.5", "TDS_GATEWAY_WORKER_THREADS": "3", "TDS_GATEWAY_GATEWAY_ID": "7"}
    gw = GatewaySettings.load(tmp_path, env=env)
    assert (gw.max_block_age_s, gw.worker_threads, gw.gateway_id) == (12.5, 3, "7")
    assert GatewaySettings.load(tmp_path, env={"TDS_GATEWAY_MAX_BLOCK_AGE_S": "null"}).max_block_age_s is None


@pytest.mark.parametrize("env, named", [
    ({"TDS_GATEWAY_PORT": "eighty"}, "TDS_GATEWAY_PORT"),
    ({"TDS_GATEWAY_NOTARY_INTERVAL_S": "soon"}, "TDS_GATEWAY_NOTARY_INTERVAL_S"),
])
def test_a_bad_value_is_refused_with_its_name_and_where_to_fix_it(tmp_path: Path, env: dict[str, str],
                                                                  named: str) -> None:
    with pytest.raises(SettingsError) as err:
        GatewaySettings.load(tmp_path, env=env)
    message = str(err.value)
    assert named in message and str(tmp_path / "config.json") in message and "\"gateway\" section" in message


def test_broken_config_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(SettingsError, match="config.json is not valid JSON"):
        ChainSettings.load(tmp_path, env={})


def test_settings_handed_to_a_child_come_back_equal(tmp_path: Path) -> None:
    write_config(tmp_path, {"gateway": {"port": 8800}})
    gw = replace(GatewaySettings.load(tmp_path, env={}), port=9001, notary_mode="thread", max_block_age_s=None,
                 trusted_proxies="127.0.0.1")
    assert GatewaySettings.load(env=gw.to_env()) == gw  # what a worker process reads back
    notary = gw.notary()
    assert notary.journal_dir == tmp_path / "gateway" / "journal" and notary.database_url == gw.database_url
    assert NotarySettings.load(env=notary.to_env()) == notary  # what the notary process reads back
    handed = {**gw.to_env(), **notary.to_env()}
    assert MASTER_KEY_ENV not in handed and PASSPHRASE_ENV not in handed  # secrets are never handed down


def test_the_notary_needs_its_database(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TDS_NOTARY_DATABASE_URL"):
        NotarySettings.load(tmp_path, env={})


def test_audit_index_url(tmp_path: Path) -> None:
    assert AuditSettings.load(tmp_path, env={}).database_url == f"sqlite:///{tmp_path / 'audit.db'}"
    assert AuditSettings.load(tmp_path, env={"TDS_AUDIT_DB_URL": "postgresql://x/y"}).database_url == "postgresql://x/y"


def test_only_the_reader_reads_config_json() -> None:
    """One settings reader: no other module opens config.json (``tds init`` writes it, in cli/commands_chain)."""
    readers = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.split("/")[0] in {"tests", ".venv", "node_modules"} or rel in {"config/reader.py",
                                                                               "cli/commands_chain.py"}:
            continue
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith(("#", "\"")))
        if re.search(r"[\"']config\.json[\"']", code):
            readers.append(rel)
    assert readers == []
