"""Tries to send the data out over the network (to the gateway's loopback port, then to the chain's).
The sandbox has no network: every attempt fails, and the job fails with the log saying why."""

import json
import os
import socket
import sys

data = open(os.environ["TDS_INPUT"], "rb").read(4096)
params = json.load(open(os.environ["TDS_PARAMS"]))
for host, port in (("127.0.0.1", int(params.get("port", 8700))), ("127.0.0.1", int(params.get("rpc_port", 8545)))):
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(data)
        print(f"sent {len(data)} bytes to {host}:{port}", file=sys.stderr)
        open(os.environ["TDS_OUTPUT"], "w").write("exfiltrated")
        sys.exit(0)
    except OSError as exc:
        print(f"cannot reach {host}:{port}: {exc}", file=sys.stderr)
sys.exit(7)
