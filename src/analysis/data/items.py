"""Item-level scoring: questionnaire items into the total used as ``score``.

The rules (items, item range, how many items may be missing, prorating and its rounding) are
data in ``config/scoring.yaml``, each with its source and a ``confirmed`` flag. A blank item is
never counted as 0: with up to ``max_missing`` blanks the total is prorated from the answered
items, with more it is not computed (NaN, an explicitly missing assessment). Item values outside
the instrument's item range, or not whole numbers, are rejected with a :class:`ValueError`
naming rows and columns; the reader in :mod:`analysis.data.readers` uses :func:`item_problems` to
quarantine such rows instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.registry.config import ConfigError, load_yaml
from analysis.registry.paths import CONFIG_DIR, cache_by_file

__all__ = [
    "ItemRule",
    "DEFAULT_SCORING_RULES",
    "load_scoring_rules",
    "item_problems",
    "score_items",
]

DEFAULT_SCORING_RULES = CONFIG_DIR / "scoring.yaml"
_ROUNDING = ("half_up", "none")
_SHOW = 5


@dataclass(frozen=True)
class ItemRule:
    """How one questionnaire's items become its total (an immutable record).

    Attributes
    ----------
    measure : str
        Registry code of the total, e.g. ``"phq9"``.
    n_items : int
        Number of items.
    item_min, item_max : int
        Item range in points (inclusive); items must be whole numbers.
    max_missing : int
        Largest number of blank items for which a total is still computed.
    prorate : bool
        Whether a total with blanks is prorated (sum x n_items / n_answered).
    rounding : {"half_up", "none"}
        Rounding of a prorated total.
    source, rounding_source : str
        Where the rule and the rounding come from.
    confirmed : bool
        True when read in the primary source.
    """

    measure: str
    n_items: int
    item_min: int
    item_max: int
    max_missing: int
    prorate: bool
    rounding: str
    source: str
    rounding_source: str = ""
    confirmed: bool = False


@cache_by_file(maxsize=4)  # reloaded when the file changes
def _load_cached(path: str) -> dict[str, ItemRule]:
    p = Path(path)
    raw = load_yaml(p, what="item scoring rules file", top_key="rules")
    if not isinstance(raw["rules"], dict):
        raise ConfigError(f"{p}: 'rules' must be a mapping of measure code -> scoring rule")
    out = {}
    for code, e in raw["rules"].items():
        need = ("n_items", "item_min", "item_max", "max_missing", "prorate", "rounding", "source")
        missing = [k for k in need if k not in e]
        if missing:
            raise ValueError(f"{p}: scoring rule '{code}' lacks key(s) {missing}")
        if e["rounding"] not in _ROUNDING:
            raise ValueError(f"{p}: scoring rule '{code}': rounding must be one of {_ROUNDING}")
        if not 0 <= int(e["max_missing"]) < int(e["n_items"]):
            raise ValueError(f"{p}: scoring rule '{code}': max_missing must lie in [0, n_items)")
        out[str(code)] = ItemRule(
            measure=str(code),
            n_items=int(e["n_items"]),
            item_min=int(e["item_min"]),
            item_max=int(e["item_max"]),
            max_missing=int(e["max_missing"]),
            prorate=bool(e["prorate"]),
            rounding=str(e["rounding"]),
            source=str(e["source"]).strip(),
            rounding_source=str(e.get("rounding_source", "")).strip(),
            confirmed=bool(e.get("confirmed", False)),
        )
    return out


def load_scoring_rules(path: str | Path | None = None) -> dict[str, ItemRule]:
    """Load the item-scoring rules.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; default the package's ``config/scoring.yaml``.

    Returns
    -------
    dict of str to ItemRule
        Keyed by measure code (``phq9``, ``gad7``). A fresh dict each call.

    Raises
    ------
    ValueError
        If a rule lacks a key, has an unknown rounding or an impossible ``max_missing``.
    """
    return dict(_load_cached(str(Path(path or DEFAULT_SCORING_RULES).resolve())))


def _rule(measure: str, rules: dict[str, ItemRule] | None) -> ItemRule:
    rules = rules if rules is not None else load_scoring_rules()
    if measure not in rules:
        raise ValueError(
            f"No item-scoring rule for measure {measure!r}; rules exist for {sorted(rules)} "
            f"(see {DEFAULT_SCORING_RULES.name})"
        )
    return rules[measure]


def _check_items(data: pd.DataFrame, items: list[str], rule: ItemRule) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    items = list(items)
    if len(items) != rule.n_items:
        raise ValueError(
            f"{rule.measure}: expected {rule.n_items} item columns, got {len(items)}: {items}"
        )
    missing = [c for c in items if c not in data.columns]
    if missing:
        raise ValueError(f"{rule.measure}: item column(s) {missing} not in data")


def item_problems(
    data: pd.DataFrame, measure: str, items: list[str], rules: dict[str, ItemRule] | None = None
) -> pd.Series:
    """Describe invalid item values per row (empty string where the row's items are valid).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per completed questionnaire; ``items`` hold the item responses (points).
    measure : str
        Registry code with a scoring rule (``phq9``, ``gad7``).
    items : list of str
        The item columns in item order (item 1 first).
    rules : dict, optional
        Scoring rules (default: :func:`load_scoring_rules`).

    Returns
    -------
    pandas.Series of str
        Same index as ``data``; for each row with a non-numeric, fractional or out-of-range item,
        a text naming the columns and values (e.g. ``"phq_3=4 outside 0-3"``), else ``""``.
        Blank items (NaN) are not problems: they are missing.
    """
    rule = _rule(measure, rules)
    _check_items(data, items, rule)
    texts = pd.Series("", index=data.index, dtype=object)
    for col in items:
        raw = data[col]
        num = pd.to_numeric(raw, errors="coerce")
        blank = raw.isna() | raw.astype(str).str.strip().eq("")
        bad_num = num.isna() & ~blank
        bad_rng = num.notna() & ((num < rule.item_min) | (num > rule.item_max) | (num % 1 != 0))
        bad = bad_num | bad_rng
        if bad.any():
            msg = (
                f"{col}="
                + raw[bad].astype(str)
                + np.where(
                    bad_num[bad],
                    " is not a number",
                    f" outside {rule.item_min}-{rule.item_max} (whole points)",
                )
            )
            texts[bad] = np.where(texts[bad].eq(""), msg, texts[bad] + "; " + msg)
    return texts


def score_items(
    data: pd.DataFrame,
    measure: str,
    items: list[str],
    *,
    rules: dict[str, ItemRule] | None = None,
    max_missing: int | None = None,
    rounding: str | None = None,
) -> pd.DataFrame:
    """Score questionnaire items into totals with the instrument's missing-item rule.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per completed questionnaire (e.g. client x session). Not modified.
    measure : {"phq9", "gad7"}
        Registry code of the total. PHQ-9: 9 items, 0-3 each, total 0-27, lower is better.
        GAD-7: 7 items, 0-3 each, total 0-21, lower is better.
    items : list of str
        The item columns, item 1 first. Blank (NaN or empty text) = not answered.
    rules : dict, optional
        Scoring rules (default ``config/scoring.yaml``).
    max_missing : int, optional
        Override the rule's largest number of blank items still scored.
    rounding : {"half_up", "none"}, optional
        Override the rule's rounding of prorated totals.

    Returns
    -------
    pandas.DataFrame
        Same index as ``data``, columns:

        - ``score`` (float): the total in points; NaN when more than ``max_missing`` items are
          blank.
        - ``n_answered`` (int): items answered.
        - ``n_missing`` (int): items blank.
        - ``status`` (str): ``complete``, ``prorated`` or ``too_many_missing``.

    Raises
    ------
    ValueError
        If an item value is not a number, not a whole number or outside the item range (the message
        lists the first offending rows and columns), if the item list has the wrong length, or if
        ``measure`` has no scoring rule.
    TypeError
        If ``data`` is not a DataFrame.

    Notes
    -----
    With ``k`` answered items of ``n`` and answered sum ``S``, the prorated total is ``S * n / k``
    (each blank item replaced by the mean of the answered ones). ``half_up`` rounds it to the
    nearest whole point with halves upwards, computed exactly as ``(2*S*n + k) // (2*k)``; e.g. a
    PHQ-9 with 8 items answered summing to 4 gives 4 x 9 / 8 = 4.5 -> 5 (the "mild" band starts
    at 5).

    References
    ----------
    Kroenke K., Spitzer R.L. & Williams J.B.W. (2001) The PHQ-9. J Gen Intern Med 16(9):606-613.
    Spitzer R.L., Kroenke K., Williams J.B.W. & Loewe B. (2006) A brief measure for assessing
    generalized anxiety disorder: the GAD-7. Arch Intern Med 166(10):1092-1097.
    Kroenke K., Spitzer R.L., Williams J.B.W. & Loewe B. (2010) Gen Hosp Psychiatry 32(4):345-359.
    The missing-item rule and its sources are in ``config/scoring.yaml`` (``source`` per rule).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({f"q{i}": [1, 1] for i in range(1, 10)})
    >>> d.loc[1, "q9"] = None
    >>> score_items(d, "phq9", [f"q{i}" for i in range(1, 10)])["score"].tolist()
    [9.0, 9.0]
    """
    rule = _rule(measure, rules)
    _check_items(data, items, rule)
    mm = rule.max_missing if max_missing is None else int(max_missing)
    rnd = rule.rounding if rounding is None else rounding
    if rnd not in _ROUNDING:
        raise ValueError(f"rounding must be one of {_ROUNDING}, got {rnd!r}")
    problems = item_problems(data, measure, items, rules={measure: rule})
    if problems.ne("").any():
        bad = problems[problems.ne("")]
        shown = "; ".join(f"row {i}: {t}" for i, t in bad.head(_SHOW).items())
        raise ValueError(
            f"{rule.measure}: {len(bad)} row(s) have invalid item values (items must be whole "
            f"points {rule.item_min}-{rule.item_max}; blank = not answered). First: {shown}"
        )
    vals = data[list(items)].apply(pd.to_numeric, errors="coerce")
    answered = vals.notna()
    k = answered.sum(axis=1).astype(int)
    s = vals.sum(axis=1, min_count=1).fillna(0).round().astype(np.int64)
    n = rule.n_items
    missing = n - k
    scorable = (missing <= mm) & (k > 0)
    if not rule.prorate:
        scorable &= missing.eq(0)
    safe_k = k.where(k > 0, 1)
    if rnd == "half_up":
        pror = ((2 * s * n + safe_k) // (2 * safe_k)).astype(float)
    else:
        pror = s * n / safe_k
    total = pd.Series(np.where(missing.eq(0), s.astype(float), pror), index=data.index)
    total = total.where(scorable)
    status = np.select(
        [missing.eq(0), scorable], ["complete", "prorated"], default="too_many_missing"
    )
    return pd.DataFrame(
        {"score": total.astype(float), "n_answered": k, "n_missing": missing, "status": status},
        index=data.index,
    )
