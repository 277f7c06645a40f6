"""Compute-to-data: vetted algorithms run next to the data in a sandbox; only checked results leave.

- :mod:`compute.manifest`: what an algorithm declares (entry point, output kind and size, resources,
  the sensitivity of each differentially private value).
- :mod:`compute.bundle`: an algorithm as one deterministic tar (its SHA-256 is the asset id), packed from
  a file or a directory and unpacked safely.
- :mod:`compute.sandbox`: one run under bubblewrap (no network, read-only input, capped output, no
  capabilities, an unprivileged uid, rlimits, a cgroup where one can be made, a wall-clock timeout).
- :mod:`compute.output`: the output's kind and size checks, and :mod:`compute.privacy` the Laplace
  release (OpenDP) of a ``dp_aggregate`` result.

This package imports only the standard library, OpenDP and :mod:`compute` itself: the gateway wires it to
grants, the store and the receipts.
"""
