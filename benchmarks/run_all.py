"""Run every benchmark and print its table (``make benchmark``). Not part of the tests.

- ``bench_clinsig.py``: every reliable-change method for 10^4-10^6 clients, HLM for 10^4 x 4 waves.
- ``bench_simulate.py``: the simulated cohort for 10^4-10^6 clients (time, Parquet, peak memory).
- ``bench_definitions.py``: all default definitions on 10^5 and 10^6 simulated clients.
- ``bench_multiverse.py``: about 1,000 specifications on 10^5 clients (10^4 with ``--quick``)
  against one engine run per specification.
- ``bench_disclosure.py``: the simulated run's disclosure plan (2,000 clients; 400 with
  ``--quick``) against the former complementary-suppression algorithm.

``--quick`` uses the small sizes only (a few minutes on a 2-core machine).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    jobs = [
        ["bench_clinsig.py", *(["--quick"] if quick else [])],
        ["bench_simulate.py", *(["10000", "100000"] if quick else [])],
        ["bench_definitions.py", *(["--clients", "100000"] if quick else [])],
        ["bench_multiverse.py", *(["--clients", "10000"] if quick else [])],
        ["bench_disclosure.py", *(["--quick"] if quick else [])],
    ]
    failed = 0
    for script, *args in jobs:
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        rc = subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
