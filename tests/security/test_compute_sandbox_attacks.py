"""Attacks from inside a compute job, each run in a real bubblewrap sandbox (compute.sandbox).

An algorithm is untrusted code: whatever it tries, the job fails or its output is refused, nothing of
the machine outside its one read-only input is visible, and the host (this test process standing in
for the gateway) is unharmed and can run the next job.
"""

from __future__ import annotations

import os
import shutil
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest

from compute import sandbox
from compute.manifest import parse
from compute.output import check
from compute.errors import OutputRejected

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap is not installed (./scripts/bootstrap installs it)")

SECRET = "raw-row-of-a-person,alice,52000\n"


@pytest.fixture()
def space(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "input.csv"
    data.write_text("name,income\n" + SECRET)
    other = tmp_path / "store" / "other-asset"
    other.parent.mkdir()
    other.write_text("another provider's asset")
    return {"data": data, "other": other, "tmp": tmp_path}


def _run(space: dict[str, Path], code: str, limits: sandbox.Limits | None = None) -> sandbox.Outcome:
    alg = space["tmp"] / f"alg-{time.monotonic_ns()}"
    alg.mkdir()
    (alg / "main.py").write_text(textwrap.dedent(code))
    return sandbox.run(alg, "main.py", space["data"], {}, limits or sandbox.Limits(wall_s=10, cpu_s=5))


def _healthy(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os
        open(os.environ["TDS_OUTPUT"], "w").write("ok")
    """)
    assert out.state == "succeeded" and out.output == b"ok", out


def test_no_network_not_even_loopback(space: dict[str, Path]) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        out = _run(space, f"""
            import os, socket
            s = socket.socket()
            s.settimeout(2)
            s.connect(("127.0.0.1", {port}))
            s.sendall(open(os.environ["TDS_INPUT"], "rb").read())
        """)
        listener.settimeout(0.5)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing arrived on the host's loopback
    finally:
        listener.close()
    assert out.state == "failed" and ("Connection refused" in out.log_tail or "unreachable" in out.log_tail), out
    assert out.output is None
    _healthy(space)


def test_no_dns_no_outside_interface(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os, socket
        names = sorted(n for _, n in socket.if_nameindex())
        open(os.environ["TDS_OUTPUT"], "w").write(",".join(names))
    """)
    assert out.state == "succeeded" and out.output == b"lo", out  # only a loopback that is down


@pytest.mark.parametrize("target", ["other", "home", "gateway_proc", "etc"])
def test_nothing_outside_the_input_is_visible(space: dict[str, Path], target: str) -> None:
    paths = {"other": str(space["other"]), "home": str(Path.home() / ".tds"),
             "gateway_proc": f"/proc/{os.getpid()}/environ", "etc": "/etc/passwd"}
    out = _run(space, f"""
        import os
        p = {paths[target]!r}
        open(os.environ["TDS_OUTPUT"], "w").write(str(os.path.exists(p)))
        print(open(p).read())
    """)
    assert out.output is None and out.state == "failed", out
    assert "another provider" not in out.log_tail


def test_proc_shows_only_the_sandbox(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        env = open("/proc/1/cmdline", "rb").read() if os.access("/proc/1/cmdline", os.R_OK) else b""
        open(os.environ["TDS_OUTPUT"], "w").write(repr((len(pids), os.getuid(), bool(os.environ.get("TDS_MASTER_KEY")))))
    """)
    assert out.state == "succeeded", out
    count, uid, key = eval(out.output.decode())  # noqa: S307 - our own test's output
    assert count <= 3 and uid == 65534 and key is False


def test_environment_is_empty_of_the_gateways(space: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_MASTER_KEY", "a" * 64)
    out = _run(space, """
        import os, json
        json.dump(sorted(os.environ), open(os.environ["TDS_OUTPUT"], "w"))
    """)
    assert out.state == "succeeded" and b"TDS_MASTER_KEY" not in out.output, out


def test_input_is_read_only(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os
        open(os.environ["TDS_INPUT"], "a").write("tampered")
    """)
    assert out.state == "failed" and "Read-only file system" in out.log_tail, out
    assert space["data"].read_text() == "name,income\n" + SECRET


def test_fork_bomb_is_contained(space: dict[str, Path]) -> None:
    t0 = time.monotonic()
    out = _run(space, """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, sandbox.Limits(wall_s=3, cpu_s=3, pids=16))
    assert out.state in ("failed", "timed_out") and out.output is None, out
    assert time.monotonic() - t0 < 15
    _healthy(space)


def test_memory_bomb_is_refused(space: dict[str, Path]) -> None:
    out = _run(space, """
        blocks = []
        while True:
            blocks.append(bytearray(16 << 20))
    """, sandbox.Limits(memory_bytes=128 << 20))
    assert out.state == "failed" and "MemoryError" in out.log_tail, out
    _healthy(space)


def test_infinite_loop_times_out(space: dict[str, Path]) -> None:
    t0 = time.monotonic()
    out = _run(space, "while True: pass\n", sandbox.Limits(wall_s=2, cpu_s=30))
    assert out.state == "timed_out" and out.output is None, out
    assert time.monotonic() - t0 < 8


def test_cpu_limit_ends_a_busy_job(space: dict[str, Path]) -> None:
    out = _run(space, "while True: pass\n", sandbox.Limits(wall_s=20, cpu_s=1))
    assert out.state == "failed" and out.signal is not None, out
    assert out.cpu_s < 4


def test_huge_output_is_refused(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os
        with open(os.environ["TDS_OUTPUT"], "wb") as f:
            while True:
                f.write(b"x" * 65536)
    """, sandbox.Limits(output_bytes=1 << 20))
    assert out.state == "failed" and out.output is None, out
    _healthy(space)


def test_many_output_files_are_refused(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os
        for i in range(5000):
            try:
                open(f"/out/f{i}", "w").write("x" * 100)
            except OSError:
                break
        open(os.environ["TDS_OUTPUT"], "w").write("1")
    """)
    assert out.state == "failed" and "entries" in (out.problem or ""), out


def test_symlink_out_of_the_output_dir_is_refused(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os
        os.symlink(os.environ["TDS_INPUT"], os.environ["TDS_OUTPUT"])
    """)
    assert out.state == "failed" and out.output is None and "regular file" in (out.problem or ""), out


def test_hard_link_to_the_input_is_impossible(space: dict[str, Path]) -> None:
    out = _run(space, """
        import os
        os.link(os.environ["TDS_INPUT"], os.environ["TDS_OUTPUT"])
    """)
    assert out.state == "failed" and out.output is None, out
    assert "Invalid cross-device link" in out.log_tail or "Operation not permitted" in out.log_tail


def test_output_of_the_wrong_kind_is_refused() -> None:
    m = parse({"name": "agg", "entry": "main.py", "output": {"kind": "dp_aggregate", "max_bytes": 4096,
                                                            "values": {"total": {"sensitivity": 1}}}})
    with pytest.raises(OutputRejected) as err:
        check(m, SECRET.encode())
    assert err.value.code == "output_wrong_kind"
    with pytest.raises(OutputRejected):
        check(m, b'{"total": 1, "rows": "alice,52000"}')
    j = parse({"name": "j", "entry": "main.py", "output": {"kind": "json", "max_bytes": 10}})
    with pytest.raises(OutputRejected) as err:
        check(j, b'{"a": "0123456789"}')
    assert err.value.code == "output_too_large"


def test_a_job_can_be_cancelled(space: dict[str, Path]) -> None:
    alg = space["tmp"] / "slow"
    alg.mkdir()
    (alg / "main.py").write_text("import time\ntime.sleep(60)\n")
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    t0 = time.monotonic()
    out = sandbox.run(alg, "main.py", space["data"], {}, sandbox.Limits(wall_s=30), cancel=cancel)
    assert out.state == "cancelled" and time.monotonic() - t0 < 5, out
