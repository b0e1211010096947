"""Benchmark: time and peak memory of analysis.data.simulate (issue 4 target: 1,000,000 clients in
under 5 minutes and 8 GB on a 2-core machine).

Usage: PYTHONPATH=src python benchmarks/bench_simulate.py [n_clients ...]
Each size runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own.
Prints a table: clients, score rows, generate (s), write Parquet (s), total (s), peak RSS (GB).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, resource, sys, time
from analysis.data.store import write_cohort
from analysis.data.simulate import simulate_cohort
n, out = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
c = simulate_cohort(n_clients=n, seed=7, validate=False)
t1 = time.perf_counter()
write_cohort(c, out)
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB (Linux)
print(json.dumps({"n": n, "rows": len(c.scores), "gen": t1 - t0, "write": t2 - t1,
                  "total": t2 - t0, "rss": rss}))
"""


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [10_000, 100_000, 1_000_000]
    print(
        f"{'clients':>10} {'rows':>12} {'generate s':>11} {'write s':>8} {'total s':>8} "
        f"{'peak GB':>8}  target: 1e6 clients < 300 s, < 8 GB"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            res = subprocess.run(
                [sys.executable, "-c", _CHILD, str(n), tmp],
                capture_output=True,
                text=True,
                check=True,
            )
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"{r['n']:>10,} {r['rows']:>12,} {r['gen']:>11.1f} {r['write']:>8.1f} "
            f"{r['total']:>8.1f} {r['rss']:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
