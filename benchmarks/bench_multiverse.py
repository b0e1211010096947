"""Benchmark of the multiverse (issue 16, item 4): about 1,000 specifications on 10^5 simulated
clients, against the naive way of computing the same grid, measured in the same run.

Target: 1,000 specifications on 10^5 clients in under 60 s on 2 cores (without multiple
imputation, whose cost is m engine calls per post rule; it is timed on its own).

Reference: the naive multiverse is one run of the definitions engine per specification (what an
analyst does with one runs file per combination). It is timed on a random sample of 10
specifications and scaled to the grid's size; the ratio printed is naive / project.

Run: ``PYTHONPATH=src python benchmarks/bench_multiverse.py [--clients 100000] [--mi]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def _grid(mi: bool) -> dict:
    missing = ["last_available", "locf", "bocf", "completers", "dropout_as_failure"]
    return {
        "grid": {
            "definitions": "headline",
            "cutoff_type": ["instrument", "a", "c"],
            "reliability": "registry",
            "missing": ["multiple_imputation"] if mi else missing,
            "post": ["last", 8, 12],
            "population": ["all", "finished", "severe", "chronic"],
        },
        "options": {"imputations": 20, "seed": 1, "alpha": 0.05, "pmm_donors": 20},
    }


def main() -> None:
    from analysis.compare.multiverse import _variants, load_grid, run_multiverse
    from analysis.data.simulate import main as simulate_main
    from analysis.data.store import read_cohort
    from analysis.outcomes.engine import score_definitions
    from analysis.registry.definitions import load_definitions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100_000)
    ap.add_argument("--mi", action="store_true", help="also time multiple imputation")
    ap.add_argument("--scheduler", default="", help='also time on Dask, e.g. "local"')
    ap.add_argument("--no-naive", action="store_true", help="skip the naive reference")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        simulate_main(["--clients", str(args.clients), "--seed", "7", "--out", tmp])
        cohort = read_cohort(tmp)
        print(
            f"cohort of {args.clients:,} clients generated and read in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        grid = load_grid(_grid(mi=False))
        engine = {"calls": 0, "seconds": 0.0}

        def timed(*a, **kw):  # the definitions engine, timed: the rest is the multiverse's own
            t = time.perf_counter()
            out = score_definitions(*a, **kw)
            engine["calls"] += 1
            engine["seconds"] += time.perf_counter() - t
            return out

        t0, c0 = time.perf_counter(), time.process_time()
        res = run_multiverse(cohort, grid, measure="phq9", score=timed)
        project, cpu = time.perf_counter() - t0, time.process_time() - c0
        n_spec = int(res["computable"].sum())
        print(
            f"project: {len(res)} specifications ({n_spec} computed) in {project:.1f} s "
            f"({1000 * project / max(n_spec, 1):.1f} ms each); of which the definitions "
            f"engine {engine['seconds']:.1f} s in {engine['calls']} calls, the multiverse's "
            f"own work {project - engine['seconds']:.1f} s; CPU time of this process "
            f"{cpu:.1f} s (wall time on a machine shared with other jobs is longer)",
            flush=True,
        )
        if args.scheduler:
            t0 = time.perf_counter()
            there = run_multiverse(cohort, grid, measure="phq9", scheduler=args.scheduler)
            print(
                f"project on Dask ({args.scheduler}, 2 worker processes): "
                f"{time.perf_counter() - t0:.1f} s; identical to in-process: "
                f"{there.equals(res)}",
                flush=True,
            )
        if not args.no_naive:
            defs = [dict(d) for d in load_definitions(None, measure="phq9")]
            by_name = {d["name"]: d for d in defs}
            rng = np.random.default_rng(0)
            sample = res.loc[res["computable"]].sample(10, random_state=rng.integers(1 << 31))
            t0 = time.perf_counter()
            for _, r in sample.iterrows():
                variant = _variants(r.to_frame().T, by_name)
                score_definitions(
                    cohort, variant, measure="phq9", missing=r["missing"], post=r["post"]
                )
            naive = (time.perf_counter() - t0) / len(sample) * n_spec
            print(
                f"naive (one engine run per specification, from 10 timed): {naive:.0f} s; "
                f"ratio naive / project = {naive / project:.1f}x",
                flush=True,
            )
        if args.mi:
            t0 = time.perf_counter()
            mi = run_multiverse(cohort, load_grid(_grid(mi=True)), measure="phq9")
            print(
                f"multiple imputation, m = 20: {int(mi['computable'].sum())} specifications "
                f"in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
