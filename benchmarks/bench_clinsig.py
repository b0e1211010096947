"""Benchmark of analysis.clinsig (issue 3, item 4): times and peak memory, printed as a table.

Targets: every method except HLM for 10^6 clients in under 2 s in total (2-core machine) with peak
memory under 2 GB; HLM for 10^4 clients x 4 waves in under 60 s.

Run: ``PYTHONPATH=src python benchmarks/bench_clinsig.py [--quick]`` (``--quick``: 10^4 and 10^5
clients only, HLM with 2,000 clients). Peak memory is traced per call with :mod:`tracemalloc`
(Python and NumPy allocations) and the process high-water mark is read from :mod:`resource`.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from analysis.clinsig import (
    anchor_individual,
    anchor_individual_prepost,
    clinical_significance,
    clinical_significance_prepost,
    percentage_change,
    percentage_change_prepost,
)

SEED = 20240601
PREPOST_METHODS = ("JT", "GLN", "HLL", "EN", "NK", "HA")
NORMS = dict(cutoff_type="c", m_functional=8.0, sd_functional=8.0)


def simulate(n: int, waves: int, rng: np.random.Generator) -> pd.DataFrame:
    """Long scores: intercept ~ N(24, 5), slope ~ N(-2, 1.5) per wave, residual SD 3 points."""
    ids = np.repeat(np.arange(n), waves)
    t = np.tile(np.arange(waves, dtype=float), n)
    b0 = rng.normal(24, 5, n)
    b1 = rng.normal(-2, 1.5, n)
    y = np.round(b0[ids] + b1[ids] * t + rng.normal(0, 3, n * waves))
    return pd.DataFrame({"id": ids.astype(str), "time": t, "score": y})


def measure(fn, trace: bool = True):
    """Wall time of an untraced call, then (``trace``) the traced peak of a second call.

    tracemalloc slows Python-level code several-fold, so time and memory come from separate runs.
    """
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    if not trace:
        return out, dt, np.nan
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak / 2**20


def run_size(n: int, rng: np.random.Generator) -> list[tuple]:
    """Every non-HLM method on ``n`` simulated clients (pre and post only)."""
    rows: list[tuple] = []
    long = simulate(n, 2, rng)
    wide = pd.DataFrame(
        {
            "id": np.arange(n),
            "pre": long["score"].to_numpy()[0::2],
            "post": long["score"].to_numpy()[1::2],
        }
    )
    total = 0.0
    for m in PREPOST_METHODS:
        _, dt, mb = measure(
            lambda m=m: clinical_significance_prepost(wide, reliability=0.8, rci_method=m, **NORMS)
        )
        total += dt
        rows.append((n, f"{m} (wide)", dt, mb))
    _, dt, mb = measure(lambda: percentage_change_prepost(wide, pct_improvement=0.5))
    total += dt
    rows.append((n, "percentage (wide)", dt, mb))
    _, dt, mb = measure(lambda: anchor_individual_prepost(wide, mid_improvement=5))
    total += dt
    rows.append((n, "anchor (wide)", dt, mb))
    _, dt, mb = measure(lambda: percentage_change(long, pre=0.0, post=1.0, pct_improvement=0.5))
    rows.append((n, "percentage (long, incl. reshaping)", dt, mb))
    _, dt, mb = measure(lambda: anchor_individual(long, pre=0.0, post=1.0, mid_improvement=5))
    rows.append((n, "anchor (long, incl. reshaping)", dt, mb))
    _, dt, mb = measure(
        lambda: clinical_significance(long, pre=0.0, post=1.0, reliability=0.8, **NORMS)
    )
    rows.append((n, "JT (long, incl. reshaping)", dt, mb))
    rows.append((n, "TOTAL non-HLM (6 wide + pct + anchor)", total, np.nan))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sizes = (10**4, 10**5) if args.quick else (10**4, 10**5, 10**6)
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    rows = []
    for n in sizes:
        rows.extend(run_size(n, rng))
    n_hlm = 2000 if args.quick else 10**4
    long = simulate(n_hlm, 4, rng)
    res, dt, mb = measure(
        lambda: clinical_significance(long, rci_method="HLM", **NORMS), trace=False
    )
    rows.append((n_hlm, "HLM (4 waves, MixedLM REML)", dt, mb))
    table = pd.DataFrame(rows, columns=["clients", "method", "seconds", "peak_MiB_traced"])
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    hw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {hw:.0f} MiB")
    print(f"HLM converged: {res.attrs['clinsig']['converged']}")


if __name__ == "__main__":
    main()
