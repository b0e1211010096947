"""A simulated multi-domain psychotherapy cohort, calibrated to published figures.

No public dataset holds symptoms, functioning, alliance and the practitioners' other success markers
session by session for one cohort, so the project's embedded default is simulated. Every number of
the generative model lives in ``config/simulation.yaml`` next to its source; the free parameters are
calibrated so that NHS Talking Therapies recovery and reliable improvement, the alliance-outcome
correlation, the therapist share of outcome variance, dropout, dose and the success rates of the
Psychiatric Services 2020 comparison are reproduced (``tests/test_simulate_calibration.py``).

Generative model (vectorised over a block of 50,000 clients; loops run over sessions only)
-------------------------------------------------------------------------------------------
Client *i* of therapist *j*, session *t* = 1, 2, ..., ``max_sessions``:

* Latent improvement propensity ``z_i = v_i + u_j + b_chronic * chronic_i + b_arm * armB_i +
  b_sev * severity_i`` with ``v_i ~ N(0, 1)`` and the therapist random effect
  ``u_j ~ N(0, therapist_sd^2)`` (centred over the therapists drawn).
* Each indicator measure *m* has a true baseline ``B_im`` (mean ``baseline_mean``, SD
  ``baseline_sd * sqrt(reliability)``; a common severity factor gives baselines correlated
  ``severity_corr``) and a client-specific asymptotic share of improvement
  ``g_im = c_im + (1 - c_im) * expit(g_mean + g_sd * (rho_m * z_i + sqrt(1 - rho_m^2) * e_im))``
  where ``rho_m = improvement_corr`` (a wide logit spread gives responders and non-responders)
  and the floor ``c_im = min(g_min + floor_severity * s_im, floor_max)`` rises with the
  standardised true baseline severity ``s_im``: milder clients either respond or stay put (or
  worsen), more severe ones rarely stay unchanged and improve at least partly. With
  ``severity_effect`` (more severe baselines respond proportionally less, entering ``z_i``) this
  reproduces the baseline-severity pattern of Psychiatric Services 2020 71(4):312 (effect size
  >= 0.8 favours severe baselines, SAES and remission favour milder ones, response does not
  depend on severity, and effect size >= 0.8 is met more often than SAES >= 0.8). The
  true score moves towards the healthy mean ``H_m`` proportionally (Bone et al. 2018):
  ``true_im(t) = B_im - (B_im - H_m)^+ * g_im * f_m(t)`` with
  ``f_m(t) = 1 - exp(-max(t - 1 - lag_m, 0) / tau)`` (direction flipped for higher-is-better
  scales).
  Functional and personal measures follow symptoms with a lag and a modest correlation. The
  Rathus Assertiveness Schedule (perspective 1) is recorded at start, mid and end for a subgroup
  (``p_assertiveness``), drawn from a second random stream per block so that adding it left
  every other measure's draws unchanged.
* Observed score = true score + ``N(0, baseline_sd^2 * (1 - reliability))``, rounded as the
  instrument is scored (whole points; SRS to 0.1; GBO to the mean of whole-point goal ratings) and
  clipped to the instrument's range (floor and ceiling).
* Alliance (latent, SD units): ``A_i(t) = a_i + growth * (1 - exp(-(t - 1) / growth_tau)) - d_i(t)``
  with ``a_i`` correlated ``corr_improvement`` with ``z_i``; ruptures occur with probability
  ``p_rupture`` per session and leave a dip ``d_i`` that decays geometrically (repair).
  WAI-SR and SRS are noisy indicators of ``A``.
* After each session a planned ending (good-enough level: the hazard rises with the share of
  improvement achieved and once the client is below caseness; Barkham et al. 2006) or a dropout
  (hazard higher with low alliance and little change) may occur; courses end at ``max_sessions``.
  Sessions after the census date are unobserved and the client is ``ongoing``.

References
----------
Barkham M. et al. (2006) Dose-effect relations and responsive regulation of treatment duration: the
good enough level. J Consult Clin Psychol 74(1):160-167.
Bone C. et al. (2018) Measuring depressive symptom change: proportional change. JMIR Ment Health
5(3):e10200.
Flueckiger C. et al. (2018) The alliance in adult psychotherapy: a meta-analytic synthesis.
Psychotherapy 55(4):316-340.
Johns R.G., Barkham M., Kellett S. & Saxon D. (2019) A systematic review of therapist effects.
Clin Psychol Rev 67:78-93.
Stevens C.L., Muran J.C., Safran J.D., Gorman B.S. & Winston A. (2007) Levels and patterns of the
therapeutic alliance in brief psychotherapy. Am J Psychother 61(2):109-129.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.special import expit, logit

from analysis.data.cohort import Cohort
from analysis.data.schema import validate_clients, validate_scores
from analysis.data.store import read_cohort, write_cohort
from analysis.registry.config import ConfigError, load_yaml
from analysis.registry.instruments import Instrument, load_registry
from analysis.registry.paths import CONFIG_DIR

__all__ = [
    "DEFAULT_PARAMS",
    "DEFAULT_SEED",
    "SIMULATED_MEASURES",
    "ParameterError",
    "load_params",
    "simulate_cohort",
    "simulate_to_parquet",
    "load_default",
    "main",
]

DEFAULT_PARAMS = CONFIG_DIR / "simulation.yaml"
DEFAULT_SEED = 2026
#: Measure codes the simulation writes, in the order rows appear within a client x session.
SIMULATED_MEASURES = (
    "phq9",
    "gad7",
    "wsas",
    "employment",
    "wai_sr",
    "srs",
    "rses",
    "ders16",
    "gse",
    "gbo",
    "coping",
    "pcl5",
    "sdq_total",
    "score15",
    "ras",
)
_INDICATORS = (
    "phq9",
    "gad7",
    "wsas",
    "rses",
    "ders16",
    "gse",
    "gbo",
    "pcl5",
    "sdq_total",
    "score15",
)
#: Indicators simulated from a block's second random stream (added later: the draws of the
#: measures above stay as they were). ``ras``: perspective 1, assertiveness.
_EXTRA_INDICATORS = ("ras",)
_BLOCK = 50_000  # clients per generation block (fixed: part of the definition of the stream)
_ROW_GROUP = 1 << 20  # rows per Parquet row group written by simulate_to_parquet
_NAME = "simulated"
_DESCRIPTION = (
    "SIMULATED DATA, not real clients: a routine-care psychotherapy cohort generated by "
    "this project's simulator from a parameter file (every number with its source) and a seed. "
    "Session-by-session PHQ-9, GAD-7, WAI-SR, SRS, Goal-Based Outcomes and a coping-skill flag; "
    "WSAS, Rosenberg self-esteem, DERS-16 and general self-efficacy at start, mid and end; "
    "employment at start and end; PCL-5 in a PTSD subgroup; parent SDQ and SCORE-15 in a "
    "child/family subgroup; the Rathus Assertiveness Schedule in an assertiveness subgroup. "
    "Calibrated "
    "to NHS Talking Therapies recovery and reliable improvement, the alliance-outcome correlation "
    "(Flueckiger et al. 2018), therapist effects (Johns et al. 2019), dropout and the Psychiatric "
    "Services 2020 71(4):312 success rates and their baseline-severity odds ratios."
)


class ParameterError(ValueError):
    """A simulation parameter is missing, unknown or out of its allowed range.

    The message names the parameter by its dotted path in the parameter file, e.g.
    ``measures.phq9.reliability``.
    """


# --------------------------------------------------------------------------------------------
# parameter schema
# --------------------------------------------------------------------------------------------
Prob = Annotated[float, Field(ge=0, le=1)]
PosInt = Annotated[int, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _CohortP(_Strict):
    n_clients: PosInt
    n_therapists: PosInt
    n_sites: PosInt
    p_arm_b: Prob
    arm_b_effect: float
    max_sessions: Annotated[int, Field(ge=2, le=100)]
    referral_window_days: PosInt
    census_lag_days: Annotated[int, Field(ge=0)]
    wait_mean_days: Annotated[float, Field(ge=0)]
    p_skip_week: Prob
    start_date: Annotated[int, Field(ge=19000101, le=29991231)]


class _PrimaryP(_Strict):
    symptom: Prob
    functional: Prob
    alliance: Prob
    personal: Prob

    @model_validator(mode="after")
    def _sums_to_one(self) -> _PrimaryP:
        total = self.symptom + self.functional + self.alliance + self.personal
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"the four shares must sum to 1, got {total:g}")
        return self


class _SubgroupsP(_Strict):
    p_ptsd: Prob
    p_child_family: Prob
    p_assertiveness: Prob
    p_chronic: Prob
    chronic_effect: float
    p_alliance_from_session2: Prob
    primary_definition: _PrimaryP


class _ImprovementP(_Strict):
    g_mean: float
    g_sd: Annotated[float, Field(ge=0)]
    g_min: Annotated[float, Field(ge=-5, le=0)]
    floor_severity: float
    floor_max: Annotated[float, Field(ge=-5, lt=1)]
    tau_sessions: Annotated[float, Field(gt=0)]
    therapist_sd: Annotated[float, Field(ge=0)]
    severity_corr: Prob
    severity_effect: float


class _AllianceP(_Strict):
    wai_mean: Annotated[float, Field(ge=12, le=60)]
    wai_sd: Annotated[float, Field(gt=0)]
    wai_growth: float
    growth_tau: Annotated[float, Field(gt=0)]
    srs_mean: Annotated[float, Field(ge=0, le=40)]
    srs_sd: Annotated[float, Field(gt=0)]
    corr_improvement: Annotated[float, Field(ge=-1, le=1)]
    p_rupture: Prob
    rupture_depth: Annotated[float, Field(ge=0)]
    repair_rate: Annotated[float, Field(ge=0, lt=1)]


class _EndingsP(_Strict):
    planned_intercept: float
    planned_improvement: float
    planned_below_cutoff: float
    min_planned_session: Annotated[int, Field(ge=1)]
    dropout_intercept: float
    dropout_alliance: float
    dropout_poor_change: float


class _MeasurementP(_Strict):
    p_missing: Annotated[float, Field(ge=0, lt=1)]


class _FunctionalP(_Strict):
    p_employed: Annotated[float, Field(gt=0, lt=1)]
    severity_employment: float
    return_intercept: float
    return_improvement: float
    p_job_loss: Prob
    n_goals_p3: Prob
    n_goals_p2: Prob
    p_coping_base: float
    coping_improvement: float
    coping_alliance: float

    @model_validator(mode="after")
    def _goal_shares(self) -> _FunctionalP:
        if self.n_goals_p3 + self.n_goals_p2 > 1:
            raise ValueError("n_goals_p3 + n_goals_p2 must not exceed 1")
        return self


Reliability = Annotated[float, Field(gt=0, lt=1)]


class _IndicatorP(_Strict):
    baseline_mean: float
    baseline_sd: Annotated[float, Field(gt=0)]
    reliability: Reliability
    healthy_mean: float
    improvement_corr: Annotated[float, Field(ge=-1, le=1)]
    lag: Annotated[float, Field(ge=0)]


class _ReliabilityP(_Strict):
    reliability: Reliability


class _MeasuresP(_Strict):
    phq9: _IndicatorP
    gad7: _IndicatorP
    wsas: _IndicatorP
    rses: _IndicatorP
    ders16: _IndicatorP
    gse: _IndicatorP
    gbo: _IndicatorP
    pcl5: _IndicatorP
    sdq_total: _IndicatorP
    score15: _IndicatorP
    ras: _IndicatorP
    wai_sr: _ReliabilityP
    srs: _ReliabilityP


class _Params(_Strict):
    cohort: _CohortP
    subgroups: _SubgroupsP
    improvement: _ImprovementP
    alliance: _AllianceP
    endings: _EndingsP
    measurement: _MeasurementP
    functional: _FunctionalP
    measures: _MeasuresP


def _is_leaf(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and set(node) <= {"value", "source"}


def _strip(node: Any, path: str) -> Any:
    """Replace every ``{value, source}`` leaf by its value."""
    if _is_leaf(node):
        return node["value"]
    if isinstance(node, dict):
        return {k: _strip(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    return node


def _merge(base: dict, override: dict, path: str) -> dict:
    """Deep-merge ``override`` into a copy of ``base``; unknown keys raise ParameterError."""
    if not isinstance(override, dict):
        raise ParameterError(
            f"parameter '{path or '<root>'}': expected a mapping, got {type(override).__name__}"
        )
    out = copy.deepcopy(base)
    for key, value in override.items():
        here = f"{path}.{key}" if path else str(key)
        if key not in base:
            if path == "measures":
                raise ParameterError(
                    f"parameter '{here}': unknown measure {key!r}; the simulation generates "
                    f"{sorted(base)}"
                )
            raise ParameterError(
                f"parameter '{here}': unknown parameter; expected one of {sorted(base)}"
            )
        if isinstance(base[key], dict) and not _is_leaf(base[key]):
            out[key] = _merge(base[key], value, here)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict:
    try:
        return load_yaml(path, what="parameter file")
    except FileNotFoundError:
        raise ParameterError(f"parameter file {path} does not exist") from None
    except ConfigError as err:  # syntax, a key given twice, a top level that is not a mapping
        raise ParameterError(str(err)) from None


@lru_cache(maxsize=1)
def _default_tree() -> str:
    return json.dumps(_read_yaml(DEFAULT_PARAMS))


def _validate(values: dict) -> _Params:
    try:
        return _Params.model_validate(values)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"])
            got = e.get("input")
            got_s = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"parameter '{loc}': {e['msg']}{got_s}")
        raise ParameterError("invalid simulation parameters:\n" + "\n".join(lines)) from None


def load_params(params: dict | str | Path | None = None) -> tuple[dict, str | None, str]:
    """Load, merge over the defaults and validate simulation parameters.

    Parameters
    ----------
    params : dict, str, Path or None
        None: the package's ``config/simulation.yaml``. A path: a YAML file in the same layout,
        holding all or only some values (the rest come from the defaults). A dict: the same, in
        memory. Leaves may be plain numbers or ``{value, source}`` mappings.

    Returns
    -------
    values : dict
        The effective parameters (plain values, nested as in the file).
    path : str or None
        The parameter file used (None for a dict); the package default is named
        ``"analysis/config/simulation.yaml (package default)"``.
    sha256 : str
        SHA-256 of the parameter file's bytes, or of the canonical JSON of a dict's effective
        values.

    Raises
    ------
    ParameterError
        (a ValueError) naming the parameter: an unknown key or measure, a value out of range
        (counts must be positive, probabilities and reliabilities in [0, 1] / (0, 1)), or a file
        that does not exist or is not YAML.
    """
    base = json.loads(_default_tree())
    if params is None or isinstance(params, (str, Path)):
        path = Path(params) if params is not None else DEFAULT_PARAMS
        raw = _read_yaml(path)
        merged = _merge(base, raw, "")
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        # the package default is named machine-independently (reports and cohort.json)
        src: str | None = (
            "analysis/config/simulation.yaml (package default)"
            if path.resolve() == DEFAULT_PARAMS.resolve()
            else str(path)
        )
    elif isinstance(params, dict):
        merged = _merge(base, params, "")
        src = None
        sha = ""
    else:
        raise TypeError(f"params must be a dict, a path or None, got {type(params).__name__}")
    values = _strip(merged, "")
    _validate(values)
    if src is None:
        sha = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
    return values, src, sha


# --------------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------------
def _round_to_scale(x: np.ndarray, ins: Instrument) -> np.ndarray:
    if ins.integer:
        x = np.rint(x)
    return np.clip(x, ins.min, ins.max)


def _indicator(
    rng: np.random.Generator,
    m: str,
    severity: np.ndarray,
    z: np.ndarray,
    k: np.ndarray,
    p: _Params,
    ins: Instrument,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True trajectory (clients x sessions, points), share of improvement ``g`` and its floor."""
    imp, mp = p.improvement, getattr(p.measures, m)
    n = severity.size
    rb = np.sqrt(imp.severity_corr)
    sign = 1.0 if ins.better_is == "lower" else -1.0
    sd_true = mp.baseline_sd * np.sqrt(mp.reliability)
    e_b = rng.standard_normal(n)
    z_b = rb * severity + np.sqrt(1 - rb**2) * e_b  # standardised true baseline severity
    base = np.clip(mp.baseline_mean + sign * sd_true * z_b, ins.min, ins.max)
    rho = mp.improvement_corr
    x = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    floor = _floor(z_b, imp)
    g = floor + (1 - floor) * expit(imp.g_mean + imp.g_sd * x)
    dist = np.maximum(sign * (base - mp.healthy_mean), 0.0)  # distance to the healthy mean
    f = 1 - np.exp(-np.maximum(k - mp.lag, 0.0) / imp.tau_sessions)
    return base[:, None] - sign * dist[:, None] * g[:, None] * f[None, :], g, floor


def _floor(z_b: np.ndarray, imp: _ImprovementP) -> np.ndarray:
    """Client's floor of the share of improvement.

    ``min(g_min + floor_severity * z_b, floor_max)``, ``z_b`` the standardised true baseline
    severity (SD units, higher = worse).
    """
    return np.minimum(imp.g_min + imp.floor_severity * z_b, imp.floor_max)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _simulate_block(
    rng: np.random.Generator,
    rng_extra: np.random.Generator,
    n: int,
    therapist_effect: np.ndarray,
    p: _Params,
    reg: dict[str, Instrument],
) -> dict[str, np.ndarray]:
    """Simulate ``n`` clients; returns per-client vectors and the long-format arrays."""
    T = p.cohort.max_sessions
    k = np.arange(T)  # session index; session number = k + 1
    nt = therapist_effect.size
    imp, al, en, fu = p.improvement, p.alliance, p.endings, p.functional

    therapist = rng.integers(0, nt, n)
    arm_b = rng.random(n) < p.cohort.p_arm_b
    ptsd = rng.random(n) < p.subgroups.p_ptsd
    child = rng.random(n) < p.subgroups.p_child_family
    chronic = rng.random(n) < p.subgroups.p_chronic
    all_s2 = rng.random(n) < p.subgroups.p_alliance_from_session2
    pd_shares = p.subgroups.primary_definition
    primary = rng.choice(
        4, n, p=[pd_shares.symptom, pd_shares.functional, pd_shares.alliance, pd_shares.personal]
    )
    severity = rng.standard_normal(n)
    v = rng.standard_normal(n)
    z = (
        v
        + therapist_effect[therapist]
        + p.subgroups.chronic_effect * chronic
        + p.cohort.arm_b_effect * arm_b
        + imp.severity_effect * severity
    )
    z_sd = np.sqrt(
        1
        + imp.therapist_sd**2
        + imp.severity_effect**2
        + p.subgroups.chronic_effect**2 * p.subgroups.p_chronic * (1 - p.subgroups.p_chronic)
        + p.cohort.arm_b_effect**2 * p.cohort.p_arm_b * (1 - p.cohort.p_arm_b)
    )
    z_std = z / z_sd

    # --- indicators: true trajectories --------------------------------------------------
    true: dict[str, np.ndarray] = {}
    g_of: dict[str, np.ndarray] = {}
    for m in _INDICATORS:
        true[m], g_of[m], floor = _indicator(rng, m, severity, z, k, p, reg[m])
        if m == "phq9":
            floor_sym = floor
    g_sym = floor_sym + (1 - floor_sym) * expit(imp.g_mean + imp.g_sd * z)
    f_sym = 1 - np.exp(-k / imp.tau_sessions)
    prop = g_sym[:, None] * f_sym[None, :]  # share of distance to healthy achieved (symptoms)

    # --- alliance --------------------------------------------------------------------------
    rho_a = al.corr_improvement
    a0 = rho_a * z_std + np.sqrt(1 - rho_a**2) * rng.standard_normal(n)
    rupt = rng.random((n, T)) < al.p_rupture
    rupt[:, 0] = False
    dip = np.zeros((n, T))
    for t in range(1, T):
        dip[:, t] = dip[:, t - 1] * al.repair_rate + al.rupture_depth * rupt[:, t]
    alliance = a0[:, None] + al.wai_growth * (1 - np.exp(-k / al.growth_tau))[None, :] - dip

    # --- endings ---------------------------------------------------------------------------
    below = (true["phq9"] < 10) & (true["gad7"] < 8)  # NHS TT caseness thresholds (registry)
    hp = expit(
        en.planned_intercept + en.planned_improvement * prop + en.planned_below_cutoff * below
    )
    hp[:, : en.min_planned_session - 1] = 0.0
    hp[:, T - 1] = 1.0
    hd = expit(
        en.dropout_intercept - en.dropout_alliance * alliance - en.dropout_poor_change * prop
    )
    hd = np.minimum(hd, 1.0 - hp)
    u = rng.random((n, T))
    planned_ev = u < hp
    event = planned_ev | (u < hp + hd)
    end_k = event.argmax(axis=1)  # index of the last attended session of the course
    planned = planned_ev[np.arange(n), end_k]

    # --- dates (days since cohort start) ----------------------------------------------------
    window, lag = p.cohort.referral_window_days, p.cohort.census_lag_days
    referral = rng.integers(0, window, n)
    wait = np.minimum(np.rint(rng.exponential(max(p.cohort.wait_mean_days, 1e-9), n)), lag)
    interval = np.where(rng.random((n, T)) < p.cohort.p_skip_week, 14, 7)
    interval[:, 0] = 0
    sess_day = (referral + wait)[:, None] + np.cumsum(interval, axis=1)
    census = window + lag
    seen = sess_day <= census
    n_course = end_k + 1
    n_obs = np.minimum(n_course, seen.sum(axis=1))
    ongoing = n_obs < n_course
    ended = ~ongoing
    obs = k[None, :] < n_obs[:, None]

    # --- schedules -------------------------------------------------------------------------
    missing = rng.random((n, T)) < p.measurement.p_missing
    missing[:, 0] = False
    missing_all = rng.random((n, T)) < p.measurement.p_missing
    missing_all[:, 0] = False
    first = k[None, :] == 0
    last = (k[None, :] == (n_obs - 1)[:, None]) & (ended & (n_obs >= 2))[:, None]
    mid = (k[None, :] == ((n_obs - 1) // 2)[:, None]) & (ended & (n_obs >= 3))[:, None]
    sme = first | mid | last  # start, mid and end
    alliance_from = np.where(all_s2, 1, 0)
    sched = {
        "phq9": obs,
        "gad7": obs,
        "gbo": obs,
        "pcl5": obs & ptsd[:, None],
        "wai_sr": obs & (k[None, :] >= alliance_from[:, None]),
        "coping": obs & (k[None, :] >= 1),
        "wsas": sme,
        "rses": sme,
        "ders16": sme,
        "gse": sme,
        "sdq_total": sme & child[:, None],
        "score15": sme & child[:, None],
        "employment": first | last,
    }
    sched["srs"] = sched["wai_sr"]

    # --- observed values -------------------------------------------------------------------
    values: dict[str, np.ndarray] = {}
    for m in _INDICATORS:
        mp = getattr(p.measures, m)
        err = mp.baseline_sd * np.sqrt(1 - mp.reliability)
        x = true[m] + err * rng.standard_normal((n, T))
        if m == "gbo":
            pr = rng.random(n)
            goals = np.where(
                pr < fu.n_goals_p3, 3, np.where(pr < fu.n_goals_p3 + fu.n_goals_p2, 2, 1)
            )
            x = np.rint(x * goals[:, None]) / goals[:, None]
        values[m] = _round_to_scale(x, reg[m])
    wai = reg["wai_sr"]
    rel = p.measures.wai_sr.reliability
    x = al.wai_mean + al.wai_sd * (
        np.sqrt(rel) * alliance + np.sqrt(1 - rel) * rng.standard_normal((n, T))
    )
    values["wai_sr"] = _round_to_scale(x, wai)
    rel = p.measures.srs.reliability
    x = al.srs_mean + al.srs_sd * (
        np.sqrt(rel) * alliance + np.sqrt(1 - rel) * rng.standard_normal((n, T))
    )
    values["srs"] = np.clip(np.round(x, 1), 0.0, 40.0)
    f_pers = 1 - np.exp(-np.maximum(k - 1.0, 0.0) / imp.tau_sessions)
    pc = expit(
        fu.p_coping_base
        + fu.coping_improvement * g_of["ders16"][:, None] * f_pers[None, :]
        + fu.coping_alliance * alliance
    )
    values["coping"] = (rng.random((n, T)) < pc).astype(float)
    emp0 = rng.random(n) < expit(logit(fu.p_employed) + fu.severity_employment * severity)
    f_w = 1 - np.exp(-np.maximum(end_k - p.measures.wsas.lag, 0.0) / imp.tau_sessions)
    gain = expit(fu.return_intercept + fu.return_improvement * g_of["wsas"] * f_w)
    emp_end = np.where(emp0, rng.random(n) >= fu.p_job_loss, rng.random(n) < gain)
    emp = np.repeat(emp0[:, None], T, axis=1).astype(float)
    emp[last] = np.repeat(emp_end[:, None], T, axis=1)[last]
    values["employment"] = emp

    # --- perspective 1 (assertiveness, RAS) in a subgroup: the block's second stream -------
    assertive = rng_extra.random(n) < p.subgroups.p_assertiveness
    for m in _EXTRA_INDICATORS:
        mp = getattr(p.measures, m)
        true_x, _g, _f = _indicator(rng_extra, m, severity, z, k, p, reg[m])
        err = mp.baseline_sd * np.sqrt(1 - mp.reliability)
        values[m] = _round_to_scale(true_x + err * rng_extra.standard_normal((n, T)), reg[m])
        sched[m] = sme & assertive[:, None]

    # --- long format -----------------------------------------------------------------------
    stack_v = np.empty((n, T, len(SIMULATED_MEASURES)))
    stack_s = np.zeros((n, T, len(SIMULATED_MEASURES)), dtype=bool)
    session_set = {"phq9", "gad7", "gbo", "pcl5", "wai_sr", "srs", "coping"}
    for j, m in enumerate(SIMULATED_MEASURES):
        miss = missing if m in session_set else missing_all
        stack_v[:, :, j] = np.where(miss, np.nan, values[m])
        stack_s[:, :, j] = sched[m]
    ci, ki, mi = np.nonzero(stack_s)
    comorbid = (values["phq9"][:, 0] >= 10) & (values["gad7"][:, 0] >= 8)
    return {
        "therapist": therapist,
        "arm_b": arm_b,
        "ptsd": ptsd,
        "child": child,
        "assertive": assertive,
        "chronic": chronic,
        "comorbid": comorbid,
        "primary": primary,
        "alliance_from": alliance_from + 1,
        "referral": referral,
        "start": sess_day[:, 0],
        "end": np.where(ended, sess_day[np.arange(n), n_obs - 1], -1),
        "reason": np.where(ongoing, 2, np.where(planned, 0, 1)),
        "n_obs": n_obs,
        "row_client": ci.astype(np.int32),
        "row_time": (ki + 1).astype(np.int16),
        "row_measure": mi.astype(np.int8),
        "row_score": stack_v[ci, ki, mi],
        "row_day": sess_day[ci, ki].astype(np.int32),
    }


class _Setup:
    """Validated parameters, registry, therapist effects and labels shared by every block."""

    def __init__(self, params, n_clients, n_therapists, seed) -> None:
        values, self.src, self.sha = load_params(params)
        if n_clients is not None:
            values["cohort"]["n_clients"] = n_clients
        if n_therapists is not None:
            values["cohort"]["n_therapists"] = n_therapists
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.p = p = _validate(values)
        self.reg = load_registry()
        self.n, nt = p.cohort.n_clients, p.cohort.n_therapists
        self.nt = nt
        te = _rng(self.seed, 0).normal(0.0, p.improvement.therapist_sd, nt)
        if nt > 1:  # centred: the service mean is set by g_mean, therapists deviate around it
            te = (te - te.mean()) * np.sqrt(nt / (nt - 1))
        self.therapist_effect = te
        self.width = max(6, len(str(self.n)))
        tw = max(3, len(str(nt)))
        self.t_ids = np.array([f"T{j:0{tw}d}" for j in range(1, nt + 1)], dtype=object)
        self.t_site = np.array([f"S{j % p.cohort.n_sites + 1}" for j in range(nt)], dtype=object)
        self.origin = pd.Timestamp(str(p.cohort.start_date)).to_datetime64().astype("datetime64[D]")

    def blocks(self):
        """Yield ``(scores, clients)`` data frames, one pair per block of 50,000 clients."""
        for b, lo in enumerate(range(0, self.n, _BLOCK)):
            size = min(_BLOCK, self.n - lo)
            out = _simulate_block(
                _rng(self.seed, 1 + b),
                _rng(self.seed, 1 + b, 1),
                size,
                self.therapist_effect,
                self.p,
                self.reg,
            )
            yield self._frames(out, lo)

    def _to_date(self, day: np.ndarray) -> np.ndarray:
        d = (self.origin + day.astype("timedelta64[D]")).astype("datetime64[ns]")
        d[day < 0] = np.datetime64("NaT", "ns")
        return d

    def _frames(self, cat: dict, lo: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        n = cat["therapist"].size
        ids = np.array([f"C{i:0{self.width}d}" for i in range(lo + 1, lo + n + 1)], dtype=object)
        measures = np.array(SIMULATED_MEASURES, dtype=object)
        # built column by column, popping the arrays, so that a block stays small
        scores = pd.DataFrame({"id": ids[cat.pop("row_client")]})
        scores["time"] = cat.pop("row_time").astype(np.float64)
        scores["measure"] = measures[cat.pop("row_measure")]
        scores["score"] = cat.pop("row_score")
        scores["date"] = self._to_date(cat.pop("row_day"))
        reasons = np.array(["planned", "dropout", "ongoing"], dtype=object)
        families = np.array(["symptom", "functional", "alliance", "personal"], dtype=object)
        clients = pd.DataFrame(
            {
                "id": ids,
                "therapist": self.t_ids[cat["therapist"]],
                "site": self.t_site[cat["therapist"]],
                "arm": np.where(cat["arm_b"], "B", "A").astype(object),
                "referral_date": self._to_date(cat["referral"]),
                "start_date": self._to_date(cat["start"]),
                "end_date": self._to_date(cat["end"]),
                "end_reason": reasons[cat["reason"]],
                "n_sessions": cat["n_obs"].astype(np.int64),
                "alliance_from_session": cat["alliance_from"].astype(np.int64),
                "ptsd": cat["ptsd"],
                "child_family": cat["child"],
                "assertiveness": cat["assertive"],
                "chronic": cat["chronic"],
                "comorbid": cat["comorbid"],
                "primary_definition": families[cat["primary"]],
            }
        )
        return scores, clients

    def meta(self) -> dict:
        return {
            "params_file": self.src,
            "params_sha256": self.sha,
            "seed": self.seed,
            "n_clients": int(self.n),
            "n_therapists": int(self.nt),
            "generator": f"numpy {np.__version__} PCG64, SeedSequence({self.seed}) child streams",
        }

    def citation(self) -> str:
        return (
            "Simulated by this project's simulator; parameters and their sources in "
            f"{self.src or 'a parameter dict'} (SHA-256 {self.sha[:12]}), seed {self.seed}."
        )


def simulate_cohort(
    params: dict | str | Path | None = None,
    n_clients: int | None = None,
    n_therapists: int | None = None,
    seed: int = DEFAULT_SEED,
    validate: bool = True,
) -> Cohort:
    """Generate a simulated multi-domain cohort in the project's data model, in memory.

    For cohorts of hundreds of thousands of clients use :func:`simulate_to_parquet`, which
    writes block by block and holds one block (50,000 clients) in memory at a time.

    Parameters
    ----------
    params : dict, str, Path or None
        Parameter file or dict (see :func:`load_params`); None uses the package's
        ``config/simulation.yaml`` (2,000 clients, 80 therapists).
    n_clients, n_therapists : int, optional
        Override ``cohort.n_clients`` / ``cohort.n_therapists`` (positive integers).
    seed : int
        Seed of numpy's PCG64 generator (``SeedSequence(seed)``, one child stream for the
        therapists and two per block of 50,000 clients). Same seed and parameters give identical
        data on any machine.
    validate : bool
        Validate the scores with :func:`analysis.data.schema.validate_scores` (slow for millions of
        rows; the benchmark switches it off).

    Returns
    -------
    analysis.data.cohort.Cohort
        ``time_unit="session"``, ``simulated=True``. ``scores``: ``id, time`` (session number),
        ``measure, score`` (instrument points, NaN = missed questionnaire), ``date``; rows ordered
        by client, session and measure (order of :data:`SIMULATED_MEASURES`). ``clients``: ``id,
        therapist, site, arm, referral_date, start_date, end_date`` (NaT while ongoing),
        ``end_reason`` (planned / dropout / ongoing), ``n_sessions`` (attended, observed),
        ``alliance_from_session`` (1 or 2), flags ``ptsd`` (PCL-5 recorded), ``child_family``
        (parent SDQ and SCORE-15 recorded), ``assertiveness`` (Rathus Assertiveness Schedule
        recorded at start, mid and end: perspective 1), ``chronic``, ``comorbid`` (PHQ-9 >= 10
        and GAD-7 >= 8 at session 1), ``primary_definition`` (symptom / functional / alliance /
        personal: the definition family chosen with the client, perspectives 4 and 8).
        ``meta``: ``params_file, params_sha256, seed, n_clients, n_therapists, generator``.

    Raises
    ------
    ParameterError
        (a ValueError) naming the parameter, for a non-positive count, a reliability outside
        (0, 1), an unknown measure or key, or another value outside its range.
    TypeError
        If ``seed`` is not an integer.

    Examples
    --------
    >>> from analysis.data.simulate import simulate_cohort
    >>> c = simulate_cohort(n_clients=50, n_therapists=5, seed=1)
    >>> c.simulated, c.n_clients, c.clients["therapist"].nunique()
    (True, 50, 5)

    The same seed gives the same data: this is the cohort ``load_dataset("simulated",
    n_clients=60, seed=1)`` reads from its cache (rows in the cache's sorted order).

    >>> sim = simulate_cohort(n_clients=60, seed=1)
    >>> sim.clients["end_reason"].value_counts().to_dict()
    {'planned': 38, 'dropout': 20, 'ongoing': 2}
    >>> phq9 = sim.scores.query("measure == 'phq9'")
    >>> phq9.groupby("id")["time"].max().describe()[["mean", "max"]].tolist()  # last session
    [7.5, 20.0]
    >>> from analysis import load_dataset
    >>> cached = load_dataset("simulated", n_clients=60, seed=1)
    >>> ordered = sim.scores.sort_values(["id", "time", "measure"]).reset_index(drop=True)
    >>> ordered.equals(cached.scores.reset_index(drop=True))
    True
    """
    setup = _Setup(params, n_clients, n_therapists, seed)
    parts = list(setup.blocks())
    if len(parts) == 1:
        scores, clients = parts[0]
    else:
        scores = pd.concat([sc for sc, _ in parts], ignore_index=True)
        clients = pd.concat([cl for _, cl in parts], ignore_index=True)
    del parts
    if validate:
        scores = validate_scores(scores, setup.reg, source="simulated scores")
        clients = validate_clients(clients, source="simulated clients")
    return Cohort(
        scores=scores,
        clients=clients,
        name=_NAME,
        time_unit="session",
        simulated=True,
        description=_DESCRIPTION,
        citation=setup.citation(),
        meta=setup.meta(),
    )


def simulate_to_parquet(
    out: str | Path,
    params: dict | str | Path | None = None,
    n_clients: int | None = None,
    n_therapists: int | None = None,
    seed: int = DEFAULT_SEED,
    validate: bool = True,
) -> Path:
    """Generate a simulated cohort block by block straight into Parquet (bounded memory).

    The same data as :func:`simulate_cohort` with the same arguments, written as
    :func:`analysis.data.store.write_cohort` writes a cohort (``scores.parquet`` sorted by id, time,
    measure; ``clients.parquet`` sorted by id; ``cohort.json``), so that
    :func:`analysis.data.store.read_cohort` reads it back. Only one block of 50,000 clients is
    held in
    memory at a time: 10^6 clients peak well under 4 GB (``benchmarks/bench_simulate.py``).

    Parameters
    ----------
    out : str or Path
        Output folder, created if absent; the three files are overwritten.
    params, n_clients, n_therapists, seed
        As :func:`simulate_cohort`.
    validate : bool
        Validate each block with :func:`analysis.data.schema.validate_scores` and
        ``validate_clients``.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ParameterError, TypeError
        As :func:`simulate_cohort`.
    FileExistsError
        If ``out`` is an existing file (not a folder); nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> from analysis.data.store import read_cohort
    >>> from analysis.data.simulate import simulate_to_parquet
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = simulate_to_parquet(tmp, n_clients=40, n_therapists=4, seed=3)
    ...     read_cohort(folder).n_clients
    40
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = Path(out)
    if d.exists() and not d.is_dir():
        raise FileExistsError(
            f"output {str(d)!r} is an existing file, not a folder; give a folder (created if "
            "absent; its scores.parquet, clients.parquet and cohort.json are overwritten)"
        )
    setup = _Setup(params, n_clients, n_therapists, seed)
    d.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Any] = {}
    n_scores = 0
    try:
        for scores, clients in setup.blocks():
            # the canonical order of analysis.data.store.write_cohort; ids are zero-padded, so block
            # order is id order
            scores = scores.sort_values(["id", "time", "measure"], kind="mergesort")
            if validate:
                scores = validate_scores(scores, setup.reg, source="simulated scores")
                clients = validate_clients(clients, source="simulated clients")
            n_scores += len(scores)
            for name, df in (("scores", scores), ("clients", clients)):
                table = pa.Table.from_pandas(df, preserve_index=False)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(
                        d / f"{name}.parquet",
                        table.schema,
                        compression="zstd",
                        write_statistics=False,
                    )
                writers[name].write_table(table, row_group_size=_ROW_GROUP)
            del scores, clients
    finally:
        for w in writers.values():
            w.close()
    meta = {
        "name": _NAME,
        "time_unit": "session",
        "simulated": True,
        "description": _DESCRIPTION,
        "citation": setup.citation(),
        "meta": setup.meta(),
        "n_clients": int(setup.n),
        "n_scores": int(n_scores),
    }
    text = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False)
    (d / "cohort.json").write_text(text + "\n", encoding="utf-8")
    return d


def load_default(
    n_clients: int | None = None,
    n_therapists: int | None = None,
    seed: int = DEFAULT_SEED,
    params: dict | str | Path | None = None,
    cache: bool = True,
) -> Cohort:
    """The embedded default cohort, generated once and cached under ``data/simulated/``.

    Parameters
    ----------
    n_clients, n_therapists : int, optional
        Default: the parameter file's (2,000 clients, 80 therapists).
    seed : int
        Random seed.
    params : dict or path, optional
        Parameter overrides or file (default: the package's ``config/simulation.yaml``).
    cache : bool
        Read ``data/simulated/<key>/`` when present, else generate and write it there. The key
        holds the seed, the sizes, the SHA-256 of the parameters and of this module's code, so a
        changed parameter or model never reads a stale cohort.

    Returns
    -------
    Cohort
        ``simulated=True``; ``meta`` names the parameter file and seed. With ``cache`` the rows
        are in the order :func:`analysis.data.store.write_cohort` stores them (scores by id,
        time, measure; clients by id), whether generated now or read from the cache.
    """
    from analysis.registry.paths import data_dir

    _values, _src, sha = load_params(params)
    # a new model never reads old data
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    key = (
        f"seed{int(seed)}_n{n_clients or 'default'}_t{n_therapists or 'default'}_"
        f"{sha[:10]}_{code[:10]}"
    )
    folder = data_dir() / "simulated" / key
    if cache and (folder / "cohort.json").is_file():
        return read_cohort(folder)
    cohort = simulate_cohort(params, n_clients=n_clients, n_therapists=n_therapists, seed=seed)
    if cache:
        write_cohort(cohort, folder)
        # read back, so the first call returns what every later call reads from the cache
        # (write_cohort sorts the rows): the same call, the same cohort, row for row
        return read_cohort(folder)
    return cohort


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m analysis simulate",
        description="Generate a simulated cohort (SIMULATED data) as Parquet: scores.parquet, "
        "clients.parquet and cohort.json in --out.",
    )
    ap.add_argument("--clients", type=int, default=None, help="number of clients (default 2000)")
    ap.add_argument(
        "--therapists", type=int, default=None, help="number of therapists (default 80)"
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    ap.add_argument("--params", default=None, help="parameter YAML (default: package defaults)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument(
        "--skip-validation", action="store_true", help="do not validate the scores (large cohorts)"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    """Command ``python -m analysis simulate``; returns the exit code.

    0 on success; 2 on bad options or parameters (the message names the parameter) or an
    output that cannot be written (``--out`` an existing file, a folder without permission).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse prints its own message
        return int(exc.code or 0)
    for opt, val in (("--clients", args.clients), ("--therapists", args.therapists)):
        if val is not None and val <= 0:
            print(f"error: {opt} must be a positive integer, got {val}", file=sys.stderr)
            return 2
    if args.seed < 0:
        print(f"error: --seed must be a non-negative integer, got {args.seed}", file=sys.stderr)
        return 2
    try:
        out = simulate_to_parquet(  # block by block: bounded memory for any size
            args.out,
            args.params,
            n_clients=args.clients,
            n_therapists=args.therapists,
            seed=args.seed,
            validate=not args.skip_validation,
        )
    except (ParameterError, OSError) as err:  # OSError: --out a file, or not writable
        print(f"error: {err}", file=sys.stderr)
        return 2
    info = json.loads((out / "cohort.json").read_text(encoding="utf-8"))
    print(
        f"SIMULATED cohort: {info['n_clients']} clients, {info['n_scores']} score rows, "
        f"seed {args.seed} -> {out}"
    )
    return 0
