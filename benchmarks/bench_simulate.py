"""Benchmark: time and peak memory of the simulated cohort (issue 4 target: 10^6 clients in under
5 minutes; issue 15 target: under 4 GB peak on a 2-core machine).

Usage: PYTHONPATH=src python benchmarks/bench_simulate.py [n_clients ...]
Each size runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own. The
cohort is generated block by block straight into Parquet (:func:`analysis.data.simulate.
simulate_to_parquet`, what ``python -m analysis simulate`` does); ``--in-memory`` measures
``simulate_cohort`` + ``write_cohort`` instead (the path of the 2,000-client default).
Prints a table: clients, score rows, generate + write (s), peak RSS (GB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, resource, sys, time
from analysis.data.store import write_cohort
from analysis.data.simulate import simulate_cohort, simulate_to_parquet
n, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
if mode == "stream":
    simulate_to_parquet(out, n_clients=n, seed=7, validate=False)
else:
    write_cohort(simulate_cohort(n_clients=n, seed=7, validate=False), out)
secs = time.perf_counter() - t0
rows = json.load(open(f"{out}/cohort.json"))["n_scores"]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB (Linux)
print(json.dumps({"n": n, "rows": rows, "total": secs, "rss": rss}))
"""


def main(argv: list[str]) -> int:
    # argparse, so that --help (or a mistyped flag) prints the usage instead of starting the
    # 10^6-client run with several GB of memory on a shared machine
    parser = argparse.ArgumentParser(
        description="Time and peak memory of the simulated cohort (not part of the tests)."
    )
    parser.add_argument(
        "sizes", nargs="*", type=int, help="numbers of clients (default 10000 100000 1000000)"
    )
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="time simulate_cohort + write_cohort instead of streaming to Parquet",
    )
    args = parser.parse_args(argv)
    mode = "memory" if args.in_memory else "stream"
    sizes = args.sizes or [10_000, 100_000, 1_000_000]
    print(
        f"{'clients':>10} {'rows':>12} {'generate+write s':>17} {'peak GB':>8}  ({mode}; "
        "target: 1e6 clients < 300 s, < 4 GB)"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            res = subprocess.run(
                [sys.executable, "-c", _CHILD, str(n), tmp, mode],
                capture_output=True,
                text=True,
                check=True,
            )
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"{r['n']:>10,} {r['rows']:>12,} {r['total']:>17.1f} {r['rss']:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
