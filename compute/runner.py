"""The sandbox's first process (pid 1 of its namespace), run by compute.sandbox as
``python3 -I -S /tds/runner.py``; standard library only, nothing of the gateway's.

It runs the algorithm as its child under rlimits (address space, CPU seconds, file size, processes,
open files, no core dumps), its stdout and stderr into a log on the sandbox's /tmp, waits at most the
wall-clock limit, kills whatever the algorithm left behind (``kill(-1)`` from pid 1), then writes one
JSON line to its own stdout (exit status, the log's tail, what /out holds) followed by the output's
bytes when /out holds exactly one regular file ``result`` within the size limit. The gateway re-checks
everything it reads: this process runs in the sandbox, beside the algorithm, and is not trusted.
"""

import ctypes
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time

LOG = "/tmp/.tds-job.log"


def main():
    spec = json.load(open("/job/spec.json"))
    lim = spec["limits"]
    try:  # /proc/1/fd (this process's stdout, the pipe to the gateway) is then closed to the algorithm
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    except Exception:
        pass

    def limits():
        mem = int(lim["memory_bytes"])
        cpu = max(1, int(lim["cpu_s"] + 0.999))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(lim["output_bytes"]) + 1, int(lim["output_bytes"]) + 1))
        resource.setrlimit(resource.RLIMIT_NPROC, (int(lim["pids"]), int(lim["pids"])))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TDS_INPUT": "/in/data",
           "TDS_PARAMS": "/job/params.json", "TDS_OUTPUT": "/out/result", "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    with open(LOG, "wb") as log:
        child = subprocess.Popen([sys.executable, "-I", "-S", "/alg/" + spec["entry"]], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log, cwd="/tmp", env=env, preexec_fn=limits, close_fds=True)
        timed_out = False
        try:
            code = child.wait(timeout=float(lim["wall_s"]))
        except subprocess.TimeoutExpired:
            timed_out = True
            child.kill()
            code = child.wait()
    wall = time.monotonic() - started
    try:
        os.kill(-1, signal.SIGKILL)  # pid 1: everything else in the sandbox (a fork bomb's survivors)
    except OSError:
        pass
    while True:
        try:
            if os.waitpid(-1, 0)[0] <= 0:
                break
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {"exit": code, "timed_out": timed_out, "wall_s": round(wall, 3),
              "cpu_s": round(usage.ru_utime + usage.ru_stime, 3), "max_rss_kb": usage.ru_maxrss,
              "log": _tail(LOG, int(lim["log_bytes"])), "output": None, "problem": None}
    body = b""
    try:
        entries = sorted(os.listdir("/out"))
    except OSError as exc:
        entries, report["problem"] = [], "cannot list the output directory: %s" % exc
    if report["problem"] is None and entries != ["result"]:
        report["problem"] = ("the job wrote no output (/out/result)" if not entries else
                             "the output directory holds %d entries (%s); only 'result' may be there"
                             % (len(entries), ", ".join(e[:40] for e in entries[:5])))
    if report["problem"] is None:
        try:
            fd = os.open("/out/result", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            fd, report["problem"] = None, "the output is not a regular file (%s)" % exc.strerror
        if fd is not None:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                report["problem"] = "the output is not a plain regular file (links are refused)"
            elif st.st_size > int(lim["output_bytes"]):
                report["problem"] = "the output is %d bytes; at most %d are declared" % (st.st_size,
                                                                                        int(lim["output_bytes"]))
            else:
                body = os.read(fd, int(lim["output_bytes"]) + 1)
                report["output"] = len(body)
            os.close(fd)
    out = sys.stdout.buffer
    out.write(json.dumps(report).encode() + b"\n")
    out.write(body)
    out.flush()


def _tail(path, limit):
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


if __name__ == "__main__":
    main()
