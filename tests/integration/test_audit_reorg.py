"""Reorg handling against a real anvil of its own (``anvil_reorg`` would rewrite the shared space's history)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from sqlmodel import select

from audit.db import AnchorRow, BlockRow, IndexDb
from audit.indexer import Indexer
from chain.logs import RpcLogSource
from chain.client import Chain
from chain.contracts import AnchorsClient
from chain.devnet import rpc
from chain.keys import Keystore
from chain.settings import ChainSettings
from cli.main import main as tds_main
from tests.integration.conftest import CREDENTIAL, free_port

pytestmark = pytest.mark.integration


def _run(home: Path, *args: str) -> None:
    assert tds_main(["--home", str(home), *args]) == 0, args


@pytest.fixture(scope="module")
def own_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("tds-reorg")
    _run(home, "init", "--rpc-url", f"http://127.0.0.1:{free_port()}", "--accounts", "operator,provider")
    _run(home, "chain", "up")
    try:
        _run(home, "deploy")
        _run(home, "participant", "onboard", "provider", "--roles", "provider", "--jurisdiction", "DE",
             "--credential-hash", CREDENTIAL)
        yield home
    finally:
        tds_main(["--home", str(home), "chain", "down"])


def _roots(db: IndexDb) -> set[str]:
    with db.session() as s:
        return set(s.exec(select(AnchorRow.root)))


def test_anvil_reorg_rolls_back_to_the_last_consistent_block(own_chain: Path) -> None:
    settings = ChainSettings.load(own_chain, env={})
    chain = Chain.connect(settings)
    anchors = AnchorsClient(chain, chain.sender(Keystore(settings.keystore_dir).account("provider")))
    roots = ["0x" + os.urandom(32).hex() for _ in range(3)]
    blocks = [anchors.anchor(r, 4, 1)["blockNumber"] for r in roots]
    db = IndexDb.open(f"sqlite:///{own_chain / 'audit.db'}")
    source = RpcLogSource(chain)
    indexer = Indexer(db, source, start_block=source.start_block, batch_blocks=3)
    indexer.run_once()
    assert set(roots) <= _roots(db)
    old_hash = chain.w3.eth.get_block(blocks[-1])["hash"].to_0x_hex()

    rpc(settings.rpc_url, "anvil_reorg", [2, []])  # the last two anchors vanish; their blocks get new hashes
    assert chain.w3.eth.get_block(blocks[-1])["hash"].to_0x_hex() != old_hash
    run = indexer.run_once()
    assert run.rolled_back_to == blocks[0]
    assert roots[0] in _roots(db) and not set(roots[1:]) & _roots(db)
    with db.session() as s:
        stored = {b.number: b.hash for b in s.exec(select(BlockRow))}
    assert stored[blocks[-1]] == chain.w3.eth.get_block(blocks[-1])["hash"].to_0x_hex()  # re-indexed, new hash

    again = "0x" + os.urandom(32).hex()
    anchors.sender._nonce = None  # type: ignore[union-attr]  # the reorg dropped two of our txs
    anchors.anchor(again, 4, 1)
    Indexer(db, source, start_block=source.start_block).run_once()  # a restarted indexer resumes
    assert again in _roots(db) and roots[0] in _roots(db)
