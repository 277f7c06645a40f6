"""A throwaway PostgreSQL server on 127.0.0.1 for the tests that run the same code on SQLite and PostgreSQL.

Uses the Debian `postgresql` package's binaries (`.ci/run` installs them); tests skip, saying why,
when they are missing. As root, the server runs as the `postgres` system user (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator

import pytest
from chain.devspace import free_port


def _bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database (server stopped and deleted afterwards)."""
    bindir = _bin_dir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql); .ci/run installs them")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[test]')")
    run_as: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
        run_as = ["runuser", "-u", "postgres", "--"]
    workdir = tempfile.mkdtemp(prefix="tds-pg-")
    os.chmod(workdir, 0o777)
    data = os.path.join(workdir, "data")
    port = free_port()
    try:
        subprocess.run([*run_as, f"{bindir}/initdb", "-D", data, "-U", "tds", "-A", "trust", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(workdir, "log"), "-w",
                        "start", "-o", f"-h 127.0.0.1 -p {port} -k {workdir} -c fsync=off"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        detail = (getattr(exc, "stderr", b"") or b"").decode(errors="replace").strip()[-300:]
        pytest.skip(f"could not start a throwaway PostgreSQL here ({exc}): {detail}")
    try:
        url = f"postgresql+psycopg://tds@127.0.0.1:{port}/postgres"
        _wait(port)
        yield url
    finally:
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not start")


def new_database(url: str) -> str:
    """URL of a new, empty database on the server of ``url`` (for tests that need a schema of their own)."""
    from sqlalchemy import create_engine

    name = f"tds_{os.urandom(6).hex()}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + name
