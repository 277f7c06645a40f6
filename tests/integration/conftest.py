"""A real anvil devnet per test session, set up through the `tds` CLI as a user would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from chain.contracts import AssetsClient, GrantsClient, ParticipantsClient
from chain.client import Chain
from chain.settings import ChainSettings
from chain.devspace import free_port
from cli.main import main as tds_main

CREDENTIAL = "0x" + "c0" * 32


@dataclass
class Result:
    """Exit code and captured output of one `tds` invocation."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Parse stdout as JSON."""
        return json.loads(self.out)


@dataclass
class Space:
    """A running data space: home dir, devnet, deployment, demo accounts onboarded."""

    home: Path
    capsys: Any = None

    def tds(self, *args: str, capsys: Any) -> Result:
        """Run `tds --home HOME ARGS...` in-process and capture its output."""
        capsys.readouterr()
        code = tds_main(["--home", str(self.home), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    @property
    def settings(self) -> ChainSettings:
        """The space's chain settings."""
        return ChainSettings.load(self.home, env={})

    def chain(self) -> Chain:
        """A fresh connection."""
        return Chain.connect(self.settings)

    def address(self, name: str) -> str:
        """Address of a keystore account."""
        from chain.keys import Keystore

        return Keystore(self.settings.keystore_dir).address(name)

    def clients(self, name: str | None = None) -> tuple[ParticipantsClient, AssetsClient, GrantsClient]:
        """Typed clients, signing as ``name`` if given."""
        from chain.keys import Keystore

        chain = self.chain()
        sender = chain.sender(Keystore(self.settings.keystore_dir).account(name)) if name else None
        return ParticipantsClient(chain, sender), AssetsClient(chain, sender), GrantsClient(chain, sender)


def _run(home: Path, *args: str) -> None:
    code = tds_main(["--home", str(home), *args])
    assert code == 0, f"tds {' '.join(args)} exited {code}"


@pytest.fixture(scope="session")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Space]:
    """init + chain up + deploy + onboard provider (DE), consumer (DE), auditor, outsider (not onboarded)."""
    home = tmp_path_factory.mktemp("tds-home")
    port = free_port()
    _run(home, "init", "--rpc-url", f"http://127.0.0.1:{port}",
         "--accounts", "operator,provider,consumer,auditor,outsider,provider2,consumer2")
    _run(home, "chain", "up")
    try:
        _run(home, "deploy")
        for name, roles, jur in [("provider", "provider", "DE"), ("consumer", "consumer", "DE"),
                                 ("auditor", "auditor", "FR"), ("provider2", "provider", "NL"),
                                 ("consumer2", "consumer", "US")]:
            _run(home, "participant", "onboard", name, "--roles", roles, "--jurisdiction", jur,
                 "--credential-hash", CREDENTIAL)
        yield Space(home)
    finally:
        tds_main(["--home", str(home), "chain", "down"])
