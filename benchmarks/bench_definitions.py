"""Benchmark of the definitions engine (issue 5, item 5): all default definitions on a large
simulated cohort, printing time and peak memory.

Target: 10^6 clients in under 60 s and 8 GB peak on a 2-core machine.

Run: ``PYTHONPATH=src python benchmarks/bench_definitions.py [--clients 100000 1000000]``.
For each size a first, measured subprocess generates the cohort block by block straight into
Parquet (:func:`analysis.data.simulate.simulate_to_parquet`, with later planned endings and less dropout
than the default, so that clients attend about 12 sessions on average, up to 20) and reports its
time and peak memory (target: under 4 GB, issue 15); a second, measured
subprocess reads it with client ids and measure codes as pandas categoricals (how a 10^7-row export
is best held in memory) and scores every definition of the default file. Its peak resident memory
(``ru_maxrss``) therefore covers the scores in memory plus the scoring, not the simulation.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

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
d = sys.argv[1]
scores = pq.read_table(f"{d}/scores.parquet", read_dictionary=["id", "measure"]).to_pandas(
    split_blocks=True, self_destruct=True)
clients = pd.read_parquet(f"{d}/clients.parquet")
cohort = Cohort(scores=scores, clients=clients, name="bench", simulated=True)
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
t0 = time.perf_counter()
out = score_definitions(cohort, None, measure="phq9")
secs = time.perf_counter() - t0
print(json.dumps({"rows": len(scores), "sessions": float((scores["measure"] == "phq9").sum()
                  / len(clients)), "definitions": int(out["definition"].nunique()),
                  "out_rows": len(out), "seconds": secs, "loaded_gb": loaded,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="*", default=[100_000, 1_000_000])
    args = ap.parse_args()
    print(
        f"{'clients':>10} {'sessions/client':>16} {'score rows':>12} {'definitions':>12} "
        f"{'output rows':>12} {'seconds':>8} {'peak GB':>8} {'after read GB':>14}",
        flush=True,
    )
    for n in args.clients:
        with tempfile.TemporaryDirectory() as tmp:
            gen = subprocess.run(
                [sys.executable, "-c", _GENERATE, str(n), tmp],
                check=True,
                capture_output=True,
                text=True,
            )
            g = json.loads(gen.stdout.strip().splitlines()[-1])
            print(
                f"{n:>10,} generation: {g['seconds']:.1f} s, peak {g['peak_gb']:.2f} GB "
                "(target < 4 GB)",
                flush=True,
            )
            res = subprocess.run(
                [sys.executable, "-c", _SCORE, tmp], check=True, capture_output=True, text=True
            )
            r = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"{n:>10,} {r['sessions']:>16.1f} {r['rows']:>12,} {r['definitions']:>12} "
            f"{r['out_rows']:>12,} {r['seconds']:>8.1f} {r['peak_gb']:>8.2f} "
            f"{r['loaded_gb']:>14.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
