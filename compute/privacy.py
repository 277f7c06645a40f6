"""Differentially private release of a ``dp_aggregate`` result (OpenDP's Laplace mechanism).

A job with epsilon ``e`` over ``k`` declared values releases each value ``v_i`` with Laplace noise of
scale ``sensitivity_i * k / e``: each release is ``e / k``-differentially private (OpenDP's privacy map
confirms it before anything leaves) and, by sequential composition, the job ``e``-DP. The exact
values never leave the gateway. Budgets are kept in millionths of epsilon (integers), so what the
gateway refuses and what an auditor adds up agree exactly.
"""

from __future__ import annotations

import math
from typing import Any

from compute.errors import OutputRejected
from compute.manifest import Manifest

MICROS = 1_000_000
MECHANISM = "laplace"


def epsilon_micros(epsilon: float | str) -> int:
    """An epsilon as an integer count of millionths (rounded up: a job never spends less than it asks)."""
    value = float(epsilon)
    if not math.isfinite(value) or value <= 0 or value > 1000:
        raise ValueError(f"epsilon must be a number in (0, 1000], not {epsilon!r:.40}")
    return max(1, math.ceil(round(value * MICROS, 6)))


def release(manifest: Manifest, values: dict[str, float], micros: int) -> dict[str, Any]:
    """The noised values of ``values`` at epsilon ``micros`` / 1e6, as the consumer receives them."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    if micros <= 0:
        raise OutputRejected("a dp_aggregate job needs a positive epsilon", "privacy_budget")
    epsilon = micros / MICROS
    share = epsilon / len(manifest.dp_values)
    released: dict[str, float] = {}
    scales: dict[str, float] = {}
    for key, sensitivity in manifest.dp_values.items():
        scale = sensitivity / share
        meas = dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)
        spent = meas.map(float(sensitivity))
        if spent > share * (1 + 1e-9):  # OpenDP's own accounting must agree before release
            raise OutputRejected(f"the Laplace release of {key} would spend {spent} > {share}", "privacy_budget")
        released[key] = float(meas(float(values[key])))
        scales[key] = scale
    return {"values": released, "epsilon": epsilon, "mechanism": MECHANISM,
            "sensitivity": dict(manifest.dp_values), "noise_scale": scales}
