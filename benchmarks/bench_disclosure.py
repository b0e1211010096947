"""Benchmark of complementary suppression (issues 14 and 17): the run's disclosure plan.

``workflow.run_disclosure(..., suppress=True)`` on the simulated run (seed 2026, 2,000 clients
by default; ``--clients N`` for another size, ``--quick`` for 400) builds the membership table of
every count the run shows (about 600 counts) and calls
:func:`analysis.report.disclosure.suppression_plan`. This script captures that call's arguments,
then times, in the same process and run, this tree's ``suppression_plan`` and the reference
algorithm it replaced (one SVD per candidate trial and per clean-up check:
``_reference_plan`` in ``tests/test_disclosure_speed.py``, the test's reference), prints CPU and
wall seconds of each and their ratio, and checks that the two plans are equal
(``pandas.testing.assert_frame_equal``). ``--no-reference`` times this tree only (the reference
takes several minutes at 2,000 clients).

Run: ``PYTHONPATH=src python benchmarks/bench_disclosure.py [--clients 2000] [--quick]
[--no-reference]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent


def _reference():
    """The test's reference implementation (the former algorithm)."""
    path = ROOT / "tests" / "test_disclosure_speed.py"
    spec = importlib.util.spec_from_file_location("_disclosure_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._reference_plan


def _timed(fn, *args, **kwargs):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.process_time() - c0, time.perf_counter() - w0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="400 clients")
    ap.add_argument("--no-reference", action="store_true", help="skip the former algorithm")
    args = ap.parse_args()
    n = 400 if args.quick else args.clients

    from analysis.report import disclosure
    from analysis.run import workflow

    calls = []
    plan_fn = disclosure.suppression_plan

    def capture(membership, **kwargs):
        calls.append((membership.copy(), kwargs))
        return plan_fn(membership, **kwargs)

    warnings.simplefilter("ignore")
    nd = workflow.outcomes_for_notebook("simulated", {"n_clients": n, "seed": 2026}, "phq9")
    disclosure.suppression_plan = capture
    try:
        workflow.run_disclosure(nd, group="arm", suppress=True)
    finally:
        disclosure.suppression_plan = plan_fn
    membership, kwargs = calls[0]
    print(
        f"simulated run, seed 2026: {membership.shape[0]} clients x {membership.shape[1]} "
        f"counts ({len(kwargs.get('unshown', []))} unshown), threshold {kwargs['threshold']}"
    )
    new, cpu, wall = _timed(plan_fn, membership, **kwargs)
    hidden = int(new["suppressed"].sum())
    comp = int(new["reason"].str.startswith("complementary").sum())
    print(
        f"{'this tree':<22} CPU {cpu:8.2f} s   wall {wall:8.2f} s   "
        f"({hidden} hidden, {comp} complementary)"
    )
    if args.no_reference:
        return 0
    reference = _reference()
    with threadpool_limits(1):  # as suppression_plan runs
        old, rcpu, rwall = _timed(reference, membership, **kwargs)
    print(f"{'reference (former)':<22} CPU {rcpu:8.2f} s   wall {rwall:8.2f} s")
    pd.testing.assert_frame_equal(new, old)
    print(
        "plans equal (assert_frame_equal); reference / this tree: "
        f"CPU {rcpu / cpu:.1f}x, wall {rwall / wall:.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
