"""A small seeded session-level cohort for the comparison tests (agreement, survival, alliance).

Not the project's simulated cohort (``analysis.data.simulate``): a minimal generator whose
generating
values the tests know. Clients of ``n_therapists`` therapists attend up to ``n_sessions`` weekly
sessions; PHQ-9 and WAI-SR are recorded at every session; a client drops out after a random
session with probability ``p_dropout``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort


def make_cohort(
    n: int = 300,
    n_therapists: int = 12,
    n_sessions: int = 10,
    rho: float = 0.5,
    therapist_sd: float = 0.4,
    p_dropout: float = 0.25,
    seed: int = 20240611,
) -> Cohort:
    """Seeded synthetic cohort; ``rho`` is the correlation of early alliance level with the latent
    improvement propensity."""
    print(f"synthetic comparison cohort: seed {seed}, n {n}")
    rng = np.random.default_rng(seed)
    ids = np.array([f"s{i:04d}" for i in range(n)])
    therapist = rng.integers(0, n_therapists, n)
    u = rng.normal(0, therapist_sd, n_therapists)[therapist]
    arm = np.where(rng.random(n) < 0.5, "A", "B")
    alliance_level = rng.normal(0, 1, n)
    z = rho * alliance_level + np.sqrt(1 - rho**2) * rng.normal(0, 1, n) + u + 0.3 * (arm == "B")
    base = np.clip(np.round(rng.normal(16, 4, n)), 5, 27)
    share = np.clip(0.45 + 0.25 * z, 0.0, 1.0)
    sess = np.arange(1, n_sessions + 1)
    frac = 1 - np.exp(-(sess - 1) / 3.0)
    true = base[:, None] - base[:, None] * share[:, None] * frac[None, :]
    phq = np.clip(np.round(true + rng.normal(0, 1.5, (n, n_sessions))), 0, 27)
    wai = np.clip(
        np.round(
            44
            + 5 * alliance_level[:, None]
            + 0.5 * sess[None, :]
            + rng.normal(0, 2.5, (n, n_sessions))
        ),
        12,
        60,
    )
    drop = rng.random(n) < p_dropout
    last = np.where(drop, rng.integers(2, n_sessions, n), n_sessions)
    seen = sess[None, :] <= last[:, None]
    phq = np.where(seen, phq, np.nan)
    wai = np.where(seen, wai, np.nan)
    start = pd.Timestamp("2023-01-02") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    tt = np.tile(sess, n).astype(float)
    dates = np.repeat(start.to_numpy(), n_sessions) + pd.to_timedelta(7 * (tt - 1), unit="D")
    parts = []
    for code, mat in (("phq9", phq), ("wai_sr", wai)):
        parts.append(
            pd.DataFrame(
                {
                    "id": np.repeat(ids, n_sessions),
                    "time": tt,
                    "measure": code,
                    "score": mat.ravel(),
                    "date": dates,
                }
            )
        )
    scores = pd.concat(parts, ignore_index=True)
    clients = pd.DataFrame(
        {
            "id": ids,
            "therapist": [f"T{t:02d}" for t in therapist],
            "arm": arm,
            "end_reason": np.where(drop, "dropout", "planned"),
            "chronic": rng.random(n) < 0.3,
        }
    )
    return Cohort(
        scores=scores,
        clients=clients,
        name="synthetic",
        time_unit="session",
        simulated=True,
        description="synthetic test cohort",
        citation="tests",
        meta={"seed": seed, "rho": rho},
    )
