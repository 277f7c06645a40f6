"""One algorithm run under bubblewrap, with only its checked output coming back.

What the sandbox gives the algorithm (:func:`bwrap_args`): a new user, pid, network, ipc, uts and
cgroup namespace (``--unshare-all``: no network at all, loopback included), uid/gid 65534, no
capabilities, a new session (no terminal to inject into), no environment from the gateway
(``--clearenv``), read-only ``/usr`` (the system Python and its standard library), its own ``/proc``
and a minimal ``/dev``, a size-capped ``/tmp`` and ``/out`` (tmpfs), and read-only: its code at
``/alg``, the one input at ``/in/data``, its parameters at ``/job``. Nothing else of the machine
exists inside: not the store, not other assets, not the gateway's config, keystores or master key.

Limits: rlimits on the algorithm (address space, CPU seconds, file size, processes, open files, no
core) set by :mod:`compute.runner`, a pids and memory cgroup when this machine lets the gateway make
one (cgroup v2 or v1; ``Outcome.cgroup`` says which), and a wall-clock timeout enforced twice (by the
runner and here, which kills the whole sandbox). The runner's report is untrusted: CPU time comes from
the kernel's accounting of the reaped sandbox (``wait4``), sizes are re-checked here.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compute.errors import SandboxUnavailable

RUNNER = Path(__file__).with_name("runner.py")
LOG_BYTES = 8192
TICK_S = 5.0
INSTALL_HINT = "install it (Debian: apt-get install bubblewrap; ./scripts/bootstrap does it)"


@dataclass(frozen=True)
class Limits:
    """What one run may use."""

    cpu_s: float = 10.0
    memory_bytes: int = 256 << 20
    pids: int = 16
    wall_s: float = 30.0
    output_bytes: int = 1 << 20
    tmp_bytes: int = 64 << 20
    log_bytes: int = LOG_BYTES


@dataclass
class Outcome:
    """How a run ended. ``state`` is succeeded, failed, timed_out or cancelled; ``output`` is the
    bytes of /out/result (None unless the run succeeded and its output passed the runner's checks)."""

    state: str
    exit_code: int | None
    signal: int | None
    cpu_s: float
    max_rss_kb: int
    wall_s: float
    log_tail: str
    output: bytes | None
    problem: str | None
    cgroup: str

    def to_json(self) -> dict[str, Any]:
        """What the consumer may see (never the output's bytes)."""
        return {"state": self.state, "exit_code": self.exit_code, "signal": self.signal,
                "cpu_s": round(self.cpu_s, 3), "max_rss_kb": self.max_rss_kb, "wall_s": round(self.wall_s, 3),
                "problem": self.problem, "cgroup": self.cgroup}


def bwrap() -> str:
    """The bubblewrap binary; :class:`SandboxUnavailable` (naming the fix) when it is missing."""
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed, so no job can run: {INSTALL_HINT}")
    return found


def interpreter() -> str:
    """The Python the sandbox runs (the system's, under the read-only /usr)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate):
            return candidate
    raise SandboxUnavailable("no system Python under /usr for the sandbox (Debian: apt-get install python3)")


def check_available() -> str:
    """Run a trivial sandbox once; return bubblewrap's version line, or raise SandboxUnavailable with why."""
    path = bwrap()
    probe = subprocess.run([path, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
                            *_system_links(), "--", interpreter(), "-I", "-S", "-c", "pass"],
                           capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        raise SandboxUnavailable("bubblewrap cannot create a sandbox here (user namespaces disabled?): "
                                 + probe.stderr.decode(errors="replace").strip()[:300])
    return subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def _system_links() -> list[str]:
    """/bin, /lib, /lib64, /sbin as the host has them: merged-/usr symlinks, else read-only binds."""
    args: list[str] = []
    for name in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def bwrap_args(code_dir: Path, input_path: Path, job_dir: Path, limits: Limits) -> list[str]:
    """The bubblewrap command line of one run (see the module docstring)."""
    return [bwrap(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--hostname", "tds-sandbox", "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
            "--ro-bind", "/usr", "/usr", *_system_links(),
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "0700", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
            "--perms", "0700", "--size", str(max(limits.output_bytes * 2, 1 << 20)), "--tmpfs", "/out",
            "--ro-bind", str(code_dir), "/alg", "--ro-bind", str(input_path), "/in/data",
            "--ro-bind", str(job_dir), "/job", "--ro-bind", str(RUNNER), "/tds/runner.py",
            "--chdir", "/tmp", "--as-pid-1", "--", interpreter(), "-I", "-S", "/tds/runner.py"]


def run(code_dir: Path, entry: str, input_path: Path, params: dict[str, Any], limits: Limits,
        scratch: Path | None = None, cancel: threading.Event | None = None,
        on_tick: Callable[[], None] | None = None) -> Outcome:
    """Run ``entry`` of ``code_dir`` on ``input_path`` in a fresh sandbox; never raises for what the
    algorithm does (only :class:`SandboxUnavailable` when no sandbox can be made). ``on_tick`` is called
    every ``TICK_S`` while the job runs (the gateway checkpoints the job's record and polls for a cancel)."""
    job_dir = Path(tempfile.mkdtemp(prefix="tds-job-", dir=scratch))
    try:
        os.chmod(job_dir, 0o755)
        spec = {"entry": entry, "limits": {"cpu_s": limits.cpu_s, "memory_bytes": limits.memory_bytes,
                                           "pids": limits.pids, "wall_s": limits.wall_s,
                                           "output_bytes": limits.output_bytes, "log_bytes": limits.log_bytes}}
        (job_dir / "spec.json").write_text(json.dumps(spec))
        (job_dir / "params.json").write_text(json.dumps(params))
        for f in job_dir.iterdir():
            f.chmod(0o444)
        with _Cgroup(limits) as cg:
            return _run(bwrap_args(code_dir, input_path, job_dir, limits), limits, cg, cancel, on_tick)
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def _run(args: list[str], limits: Limits, cg: "_Cgroup", cancel: threading.Event | None,
         on_tick: Callable[[], None] | None) -> Outcome:
    started = ticked = time.monotonic()
    command = cg.wrap(args)
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, close_fds=True, env={"PATH": "/usr/bin:/bin"})
    cap = limits.output_bytes + 2 * limits.log_bytes + 65536
    out, err = bytearray(), bytearray()
    deadline = started + limits.wall_s + 2.0
    killed = cancelled = False
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    open_streams = 2
    while open_streams:
        if on_tick is not None and time.monotonic() - ticked >= TICK_S:
            ticked = time.monotonic()
            on_tick()
        if cancel is not None and cancel.is_set() and not killed:
            cancelled = killed = True
            _kill(proc)
        if time.monotonic() > deadline and not killed:
            killed = True
            _kill(proc)
        for key, _ in sel.select(timeout=0.2):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            buf = key.data
            if len(buf) < (cap if buf is out else 16384):
                buf += chunk
            elif buf is out and not killed:  # more than the runner may ever write: stop the run
                killed = True
                _kill(proc)
    sel.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    cpu = usage.ru_utime + usage.ru_stime
    cg_cpu = cg.cpu_s()
    if cg_cpu is not None:
        cpu = max(cpu, cg_cpu)
    report, body = _report(bytes(out))
    if cancelled:
        return _outcome("cancelled", None, None, cpu, usage, wall, report, None, "cancelled by the consumer", cg)
    if report is None:
        why = err.decode(errors="replace").strip()[-300:] or f"sandbox exit status {proc.returncode}"
        state = "timed_out" if killed else "failed"
        problem = (f"the job ran past its {limits.wall_s:g} s wall-clock limit" if killed else
                   f"the sandbox ended without a report: {why}")
        return _outcome(state, None, None, cpu, usage, wall, {}, None, problem, cg)
    code = report.get("exit")
    code = code if isinstance(code, int) else None
    sig = -code if code is not None and code < 0 else None
    if report.get("timed_out") is True or killed:
        return _outcome("timed_out", code, sig, cpu, usage, wall, report, None,
                        f"the job ran past its {limits.wall_s:g} s wall-clock limit", cg)
    if cpu > limits.cpu_s + 1.0 or sig == signal.SIGXCPU:
        return _outcome("failed", code, sig, cpu, usage, wall, report, None,
                        f"the job used more than its {limits.cpu_s:g} CPU seconds", cg)
    if code != 0:
        problem = f"the algorithm exited with status {code}" if sig is None else \
            f"the algorithm was killed by signal {signal.Signals(sig).name}"
        if cg.oom():
            problem += f" (out of memory: {limits.memory_bytes >> 20} MiB)"
        return _outcome("failed", code, sig, cpu, usage, wall, report, None, problem, cg)
    problem = report.get("problem")
    if problem is not None:
        return _outcome("failed", code, sig, cpu, usage, wall, report, None, str(problem)[:300], cg)
    declared = report.get("output")
    if not isinstance(declared, int) or declared != len(body) or len(body) > limits.output_bytes:
        return _outcome("failed", code, sig, cpu, usage, wall, report, None,
                        "the output is larger than declared or was cut", cg)
    return _outcome("succeeded", code, sig, cpu, usage, wall, report, body, None, cg)


def _outcome(state: str, code: int | None, sig: int | None, cpu: float, usage: Any, wall: float,
             report: dict[str, Any], body: bytes | None, problem: str | None, cg: "_Cgroup") -> Outcome:
    report = report or {}
    log = report.get("log") if isinstance(report.get("log"), str) else ""
    # the algorithm's own peak as the in-sandbox runner saw it: wait4's ru_maxrss of bwrap starts from the
    # gateway's RSS (Linux keeps the pre-exec peak), so it only stands in when there is no report
    rss = report.get("max_rss_kb")
    rss = rss if isinstance(rss, int) and not isinstance(rss, bool) and rss >= 0 else int(usage.ru_maxrss)
    return Outcome(state, code, sig, cpu, rss, wall, str(log)[-LOG_BYTES:], body, problem, cg.kind)


def _report(data: bytes) -> tuple[dict[str, Any] | None, bytes]:
    head, sep, body = data.partition(b"\n")
    if not sep:
        return None, b""
    try:
        report = json.loads(head)
    except ValueError:
        return None, b""
    return (report, body) if isinstance(report, dict) else (None, b"")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill bubblewrap's process group; --die-with-parent takes the sandbox (and its pid namespace) with it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _Cgroup:
    """A per-run pids + memory cgroup where the gateway may make one (v2, else v1), else none."""

    V2 = Path("/sys/fs/cgroup")
    V1 = Path("/sys/fs/cgroup")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.kind = "none"
        self.dirs: list[Path] = []
        self.name = f"tds-job-{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> "_Cgroup":
        if os.environ.get("TDS_COMPUTE_CGROUP", "auto") == "off":
            return self
        try:
            if (self.V2 / "cgroup.controllers").exists():
                d = self.V2 / self.name
                d.mkdir()
                self.dirs = [d]
                (d / "pids.max").write_text(str(self.limits.pids + 4))
                (d / "memory.max").write_text(str(self.limits.memory_bytes + (self.limits.tmp_bytes * 2)))
                self.kind = "v2"
            elif (self.V1 / "pids").is_dir() and (self.V1 / "memory").is_dir():
                p, m = self.V1 / "pids" / self.name, self.V1 / "memory" / self.name
                p.mkdir()
                self.dirs.append(p)
                m.mkdir()
                self.dirs.append(m)
                (p / "pids.max").write_text(str(self.limits.pids + 4))
                (m / "memory.limit_in_bytes").write_text(str(self.limits.memory_bytes + self.limits.tmp_bytes * 2))
                cpu = self.V1 / "cpuacct"
                if cpu.is_dir():
                    (cpu / self.name).mkdir()
                    self.dirs.append(cpu / self.name)
                self.kind = "v1"
        except OSError:
            self._remove()
            self.kind = "none"
        return self

    def wrap(self, args: list[str]) -> list[str]:
        """``args`` started inside this cgroup (a shell joins it, then execs bubblewrap)."""
        if self.kind == "none":
            return args
        joins = " && ".join(f"echo $$ > '{d}/cgroup.procs'" for d in self.dirs)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "tds-sandbox", *args]

    def cpu_s(self) -> float | None:
        """CPU seconds the cgroup accounted, where it can tell."""
        for d in self.dirs:
            for name, scale in (("cpu.stat", None), ("cpuacct.usage", 1e-9)):
                f = d / name
                if not f.exists():
                    continue
                try:
                    text = f.read_text()
                except OSError:
                    continue
                if scale is not None:
                    return int(text.strip()) * scale
                for line in text.splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
        return None

    def oom(self) -> bool:
        """Whether the memory limit was hit."""
        for d in self.dirs:
            for name in ("memory.events", "memory.failcnt"):
                f = d / name
                try:
                    text = f.read_text()
                except OSError:
                    continue
                if name == "memory.failcnt":
                    return int(text.strip() or 0) > 0
                return any(line.split()[0] in ("oom", "oom_kill") and int(line.split()[1]) > 0
                           for line in text.splitlines() if line.strip())
        return False

    def __exit__(self, *exc: object) -> None:
        self._remove()

    def _remove(self) -> None:
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # still has processes for a moment after the kill
                    procs = d / "cgroup.procs"
                    try:
                        for pid in procs.read_text().split():
                            os.kill(int(pid), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
                    time.sleep(0.02)
        self.dirs = []
