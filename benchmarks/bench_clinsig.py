"""Benchmark of analysis.outcomes.clinsig (issues 3 and 14): times, peak memory and same-run ratios.

Targets: every method except HLM for 10^6 clients in under 2 s in total (2-core machine) with peak
memory under 2 GB; two-wave reliable change from long data (string ids) at 10^6 clients within 2x
of a bare numpy floor measured in the same run; HLM (REML, analysis.outcomes.hlm) about 100x faster
than statsmodels MixedLM on the same data and 10^6 clients x 4 waves in under 30 s.

Run: ``PYTHONPATH=src python benchmarks/bench_clinsig.py [--quick]`` (``--quick``: 10^4 and 10^5
clients only, HLM at 2,000 clients and 10^5 x 4). Peak memory is traced per call with
:mod:`tracemalloc` (Python and NumPy allocations) and the process high-water mark is read from
:mod:`resource`. Ratios come from interleaved repeats in this run (median of each side), so a
machine that changes speed during the run moves both sides. Where ``Rscript`` and the R package
clinicalsignificance are installed, R's time for the same two-wave and HLM calls is printed beside
them; otherwise that row says why it was skipped.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.outcomes.anchor import anchor_individual, anchor_individual_prepost
from analysis.outcomes.clinsig import clinical_significance
from analysis.outcomes.distribution import clinical_significance_prepost
from analysis.outcomes.percentage import percentage_change, percentage_change_prepost

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


def numpy_floor(long: pd.DataFrame, pre, post, reliability: float):
    """The bare minimum of two-wave JT from long data: factorise the ids (strings too), place the
    pre and post scores, SD of the complete pre scores, RCI and the three-way category."""
    codes, uniques = pd.factorize(long["id"])
    t = long["time"].to_numpy()
    y = long["score"].to_numpy()
    is_pre, is_post = t == pre, t == post
    pre_v = np.full(len(uniques), np.nan)
    post_v = np.full(len(uniques), np.nan)
    pre_v[codes[is_pre]] = y[is_pre]
    post_v[codes[is_post]] = y[is_post]
    ok = ~(np.isnan(pre_v) | np.isnan(post_v))
    s_diff = np.sqrt(2.0) * pre_v[ok].std(ddof=1) * np.sqrt(1 - reliability)
    rci = (post_v - pre_v) / s_diff
    crit = 1.959963984540054
    category = np.where(rci < -crit, 0, np.where(rci > crit, 2, 1))
    return uniques, rci, category


def interleaved(fa, fb, repeats: int) -> tuple[float, float]:
    """Median wall times of ``fa`` and ``fb`` called alternately ``repeats`` times each."""
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fa()
        ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fb()
        tb.append(time.perf_counter() - t0)
    return float(np.median(ta)), float(np.median(tb))


def statsmodels_hlm(long: pd.DataFrame):
    """The same model by statsmodels MixedLM (REML, default optimiser), as clinsig did before."""
    import statsmodels.api as sm

    codes, _ = pd.factorize(long["id"])
    t = long["time"].to_numpy(float)
    x = np.column_stack([np.ones_like(t), t])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.MixedLM(long["score"].to_numpy(float), x, groups=codes, exog_re=x).fit(reml=True)


R_SCRIPT = """
suppressMessages(library(clinicalsignificance))
d2 <- read.csv("{two}"); d4 <- read.csv("{four}")
t0 <- Sys.time()
invisible(cs_distribution(d2, id, time, score, pre = 0, post = 1, reliability = 0.8))
t1 <- Sys.time()
invisible(cs_distribution(d4, id, time, score, rci_method = "HLM"))
t2 <- Sys.time()
cat(as.numeric(t1 - t0, units = "secs"), as.numeric(t2 - t1, units = "secs"), "\n")
"""


def r_timing(two: pd.DataFrame, four: pd.DataFrame) -> tuple[float, float] | str:
    """R clinicalsignificance's time for the two-wave (JT) and HLM calls, or why it was skipped."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "skipped: Rscript not on PATH"
    check = subprocess.run(
        [rscript, "-e", "quit(status = !requireNamespace('clinicalsignificance', quietly = TRUE))"],
        capture_output=True,
        check=False,
    )
    if check.returncode != 0:
        return "skipped: the R package clinicalsignificance is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        p2, p4 = Path(tmp, "two.csv"), Path(tmp, "four.csv")
        two.to_csv(p2, index=False)
        four.to_csv(p4, index=False)
        code = R_SCRIPT.format(two=p2, four=p4)
        out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return f"skipped: R failed ({out.stderr.strip()[:200]})"
    a, b = out.stdout.split()[:2]
    return float(a), float(b)


def ratios(quick: bool, rng: np.random.Generator) -> None:
    """Same-run ratios: project vs numpy floor (two waves), project HLM vs statsmodels, R."""
    n2 = 10**5 if quick else 10**6
    long2 = simulate(n2, 2, rng)  # string ids, as users' are
    kw = dict(pre=0.0, post=1.0, reliability=0.8)
    t_proj, t_floor = interleaved(
        lambda: clinical_significance(long2, **kw), lambda: numpy_floor(long2, 0.0, 1.0, 0.8), 5
    )
    n_sm = 2000
    long4 = simulate(n_sm, 4, rng)
    t_hlm, t_sm = interleaved(
        lambda: clinical_significance(long4, rci_method="HLM"), lambda: statsmodels_hlm(long4), 3
    )
    n_big = 10**5 if quick else 10**6
    big = simulate(n_big, 4, rng)
    t0 = time.perf_counter()
    res = clinical_significance(big, rci_method="HLM", **NORMS)
    t_big = time.perf_counter() - t0
    info = res.attrs["clinsig"]
    rows = [
        (f"two-wave JT, long, string ids, {n2:,} clients", t_proj, t_floor, "numpy floor"),
        (f"HLM (REML), {n_sm:,} clients x 4 waves", t_hlm, t_sm, "statsmodels MixedLM"),
        (f"HLM (REML), {n_big:,} clients x 4 waves", t_big, np.nan, ""),
    ]
    r = r_timing(long2, long4)
    table = pd.DataFrame(rows, columns=["call", "project_s", "other_s", "other"])
    table["project/other"] = table["project_s"] / table["other_s"]
    with pd.option_context("display.width", 140, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    print(
        f"HLM {n_big:,} x 4: converged {info['converged']}, singular {info['singular']}; "
        f"statsmodels is {t_sm / t_hlm:.0f}x the project's HLM time at {n_sm:,} clients"
    )
    if isinstance(r, str):
        print(f"R clinicalsignificance: {r}")
    else:
        print(
            f"R clinicalsignificance: two-wave {r[0]:.3f} s (project/R {t_proj / r[0]:.3f}), "
            f"HLM {n_sm:,} x 4 {r[1]:.3f} s (project/R {t_hlm / r[1]:.3f})"
        )


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
    res, dt, mb = measure(lambda: clinical_significance(long, rci_method="HLM", **NORMS))
    rows.append((n_hlm, "HLM (4 waves, REML from sufficient statistics)", dt, mb))
    table = pd.DataFrame(rows, columns=["clients", "method", "seconds", "peak_MiB_traced"])
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    hw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {hw:.0f} MiB")
    print(f"HLM converged: {res.attrs['clinsig']['converged']}")
    print("\nsame-run ratios (median of interleaved repeats)")
    ratios(args.quick, rng)


if __name__ == "__main__":
    main()
