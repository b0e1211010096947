"""Benchmark of the definitions engine (issue 14, item 3): all default definitions on a large
simulated cohort, printing time and peak memory.

Target: 10^6 clients x about 12 sessions, every default definition, in under 30 s and 4 GB peak
on a 2-core machine.

Run: ``PYTHONPATH=src python benchmarks/bench_definitions.py [--clients 100000 1000000]
[--object] [--compare-ref GITREF] [--cohort DIR]``.
For each size a first, measured subprocess generates the cohort block by block straight into
Parquet (:func:`analysis.data.simulate.simulate_to_parquet`, with later planned endings and less
dropout than the default, so that clients attend about 12 sessions on average, up to 20) and
reports its time and peak memory (target: under 4 GB, issue 15); ``--cohort DIR`` reuses a
cohort written before (its size then replaces ``--clients``). A second, measured subprocess
reads it with :func:`analysis.data.store.read_cohort` (``compact=True``: only ``id, time,
measure, score``, client ids and measure codes as pandas categoricals, float32 where lossless:
how a 10^8-row export is best held in memory; a reference tree without that option reads with
pyarrow, ids and measures dictionary-encoded) and scores every definition of the default file
with ``categorical=True`` (the engine's default: text columns as pandas Categoricals). Its peak
resident memory (``ru_maxrss``) covers reading the Parquet file, the scores in memory and the
scoring, not the simulation; ``read GB`` is the peak before scoring starts (the Parquet read).

``--object`` also times ``score_definitions(..., categorical=False)`` (object text columns: 1.7x
the table's memory, same values), in the reference tree too when one is given; the reference
runs with the same ``categorical`` argument as this tree (like with like).
``--compare-ref GITREF`` runs the same scoring from a git worktree of that reference (e.g.
``main``, a commit) in a subprocess on the same cohort, right before this tree's, and prints
the ratio of the two times; both run in the same call, so the load of the machine is about the
same (the wall time of a busy shared machine moves a lot: the CPU seconds of the scoring
process are printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_GB = 30.0, 4.0

_GENERATE = r"""
import json, resource, sys, time
from analysis.data.simulate import simulate_to_parquet
n, out = int(sys.argv[1]), sys.argv[2]
# longer courses than the default cohort (about 12 sessions per client; issue 5 item 5)
longer = {"endings": {"planned_intercept": -5.5, "dropout_intercept": -4.0,
                      "min_planned_session": 6}}
t0 = time.perf_counter()
# block by block straight into Parquet: one block of 50,000 clients in memory (issue 15 item 4)
simulate_to_parquet(out, longer, n_clients=n, n_therapists=max(80, n // 25), seed=7,
                    validate=False)
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}))
"""

_SCORE = r"""
import json, resource, sys, time
import pandas as pd, pyarrow.parquet as pq
from analysis.data.cohort import Cohort
from analysis.outcomes.engine import score_definitions
d, how = sys.argv[1], sys.argv[2]  # "default": the engine's default text dtypes; "1"/"0": given
try:  # the compact reader (issue 14): id, time, measure, score only; codes; float32 if lossless
    from analysis.data.store import read_cohort
    cohort = read_cohort(d, validate=False, compact=True)
    scores, clients = cohort.scores, cohort.clients
except TypeError:  # a reference tree without it: pyarrow with dictionary-encoded ids
    scores = pq.read_table(f"{d}/scores.parquet", read_dictionary=["id", "measure"]).to_pandas(
        split_blocks=True, self_destruct=True)
    clients = pd.read_parquet(f"{d}/clients.parquet")
    cohort = Cohort(scores=scores, clients=clients, name="bench", simulated=True)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
t0, c0 = time.perf_counter(), time.process_time()
kw = {} if how == "default" else {"categorical": how == "1"}
out = score_definitions(cohort, None, measure="phq9", **kw)
secs, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"rows": len(scores), "sessions": float((scores["measure"] == "phq9").sum()
                  / len(clients)), "clients": len(clients),
                  "definitions": int(out["definition"].nunique()),
                  "out_rows": len(out), "seconds": secs, "cpu": cpu, "loaded_gb": loaded,
                  "out_gb": out.memory_usage(deep=False).sum() / 1024**3,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}))
"""


def _score(src: Path, cohort: str, how: str = "default") -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    res = subprocess.run(
        [sys.executable, "-c", _SCORE, cohort, how],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def _row(label: str, r: dict) -> str:
    return (
        f"{label:<22} {r['clients']:>10,} {r['sessions']:>9.1f} {r['rows']:>12,} "
        f"{r['definitions']:>5} {r['out_rows']:>12,} {r['seconds']:>8.1f} {r['cpu']:>8.1f} "
        f"{r['peak_gb']:>8.2f} {r['loaded_gb']:>8.2f} {r['out_gb']:>7.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--cohort", help="a cohort directory written before (skips the simulation)")
    ap.add_argument(
        "--object", action="store_true", help="also time categorical=False (both trees)"
    )
    ap.add_argument("--compare-ref", metavar="GITREF", help="also time the engine of GITREF")
    args = ap.parse_args()
    print(
        f"target: every default definition on 10^6 clients x ~12 sessions in < {TARGET_SECONDS:g} s"
        f" and < {TARGET_GB:g} GB peak (2 cores)"
    )
    print(
        f"{'engine':<22} {'clients':>10} {'sess/cl':>9} {'score rows':>12} {'defs':>5} "
        f"{'output rows':>12} {'seconds':>8} {'cpu s':>8} {'peak GB':>8} {'read GB':>8} "
        f"{'out GB':>7}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as wt_parent:
        ref_src = None
        if args.compare_ref:
            wt = Path(wt_parent) / "ref"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(wt),
                 args.compare_ref],
                check=True,
            )  # fmt: skip
            ref_src = wt / "src"
        try:
            for n in [None] if args.cohort else args.clients:
                with tempfile.TemporaryDirectory() as tmp:
                    cohort = args.cohort or tmp
                    if not args.cohort:
                        gen = subprocess.run(
                            [sys.executable, "-c", _GENERATE, str(n), tmp],
                            check=True,
                            capture_output=True,
                            text=True,
                        )
                        g = json.loads(gen.stdout.strip().splitlines()[-1])
                        print(
                            f"{n:>10,} generation: {g['seconds']:.1f} s, peak "
                            f"{g['peak_gb']:.2f} GB (target < 4 GB)",
                            flush=True,
                        )
                    # categorical=True (the default), then (--object) categorical=False, each
                    # in the reference tree right before this tree's (same load)
                    for how in ["1", *(["0"] if args.object else [])]:
                        label = "" if how == "1" else ", object"
                        ref = None
                        if ref_src is not None:
                            ref = _score(ref_src, cohort, how)
                            print(_row(f"ref {args.compare_ref}{label}"[:22], ref), flush=True)
                        new = _score(ROOT / "src", cohort, how)
                        print(_row(f"this tree{label}", new), flush=True)
                        if ref is not None:
                            print(
                                f"ratio this tree / {args.compare_ref}{label}: time "
                                f"{new['seconds'] / ref['seconds']:.2f}, cpu "
                                f"{new['cpu'] / ref['cpu']:.2f}, peak "
                                f"{new['peak_gb'] / ref['peak_gb']:.2f}",
                                flush=True,
                            )
                        if new["clients"] >= 1_000_000:
                            print(
                                f"vs target{label}: {new['seconds'] / TARGET_SECONDS:.2f} x the "
                                f"time ({new['cpu'] / TARGET_SECONDS:.2f} in CPU), "
                                f"{new['peak_gb'] / TARGET_GB:.2f} x the memory",
                                flush=True,
                            )
        finally:
            if ref_src is not None:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_src.parent)],
                    check=False,
                )


if __name__ == "__main__":
    main()
