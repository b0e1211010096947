"""Family profiles (notebook 02) under the run's disclosure plan: percentages are counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.compare import agreement
from analysis.report import disclosure
from analysis.report import disclosure_tables as masks
from analysis.run import workflow


def _cohort():
    """20 clients; definition a (family x) and b (family y).

    Clients 1-8 meet both (group "both", 8), 9-20 meet neither (12). Homeless: clients 1, 2
    (2 of 8 = 25 %) and 9-14 (6 of 12 = 50 %). Age: recorded for all of "both" (mean of
    30..37 = 33.5) and for 4 of "neither" (clients 9-12: a mean over 4 values).
    """
    ids = list(range(1, 21))
    met = ["met" if i <= 8 else "not_met" for i in ids]
    out = pd.DataFrame(
        {
            "id": ids * 2,
            "definition": ["a"] * 20 + ["b"] * 20,
            "family": ["x"] * 20 + ["y"] * 20,
            "status": met * 2,
            "baseline": [15.0] * 40,
        }
    )
    profile = pd.DataFrame(
        {
            "id": ids,
            "homeless": [i in (1, 2) or 9 <= i <= 14 for i in ids],
            "age": [29.0 + i if i <= 8 else (40.0 if i <= 12 else np.nan) for i in ids],
        }
    )
    return out, profile


def test_profile_numerators_are_counts_of_the_plan():
    out, profile = _cohort()
    m = workflow.agreement_cells(out, None, profile)
    key = "families x / y"
    # numerator and complement of every percentage, per group
    assert int(m[f"{key}: both: homeless"].sum()) == 2
    assert int(m[f"{key}: both: not homeless"].sum()) == 6
    assert int(m[f"{key}: neither: homeless"].sum()) == 6
    assert int(m[f"{key}: neither: not homeless"].sum()) == 6
    plan = disclosure.suppression_plan(m)
    hidden = set(plan.loc[plan["suppressed"], "cell"])
    # 2 homeless in "both" is hidden (primary) and cannot be worked out from the shown counts
    assert f"{key}: both: homeless" in hidden
    assert disclosure.recoverable(m, sorted(hidden)) == []
    dis = agreement.family_disagreement(out, "x", "y", profile=profile)
    assert dis.attrs["n_values"]["mean age"] == [8, 0, 0, 4]
    csv = masks.mask_families(dis, plan, "x", "y").set_index("group")
    # 2 of 8 homeless: 25 % would give the 2 back with the group's 8 -> hidden
    assert csv.loc["both", "% homeless"] == "suppressed"
    # 6 of 12 = 50 %: both counts shown (>= 5), so the percentage is, at full precision
    assert csv.loc["neither", "% homeless"] == 50.0
    # mean age of "both": (30 + ... + 37) / 8 = 33.5 over 8 clients, shown; of "neither": over
    # 4 recorded values (40 each), hidden although the group has 12 clients
    assert csv.loc["both", "mean age"] == 33.5
    assert csv.loc["neither", "mean age"] == "suppressed"
    # empty groups: no mean to show
    assert csv.loc["only x", "mean age"] == "suppressed"
    # without a plan (simulated data) nothing is hidden
    raw = masks.mask_families(dis, None, "x", "y", decimals=1).set_index("group")
    assert raw.loc["both", "% homeless"] == 25.0


def test_profile_percentage_not_in_the_plan_is_hidden():
    """A plan built without the profile (an older notebook 01 plan) has no numerator: the
    percentage is not audited, so it is not shown; the group's size still is."""
    out, profile = _cohort()
    plan = disclosure.suppression_plan(workflow.agreement_cells(out))
    dis = agreement.family_disagreement(out, "x", "y", profile=profile)
    shown = masks.mask_families(dis, plan, "x", "y", decimals=1).set_index("group")
    assert shown.loc["neither", "% homeless"] == "suppressed"
    assert shown.loc["neither", "n_clients"] == 12


def test_mean_of_a_yes_no_measure_is_not_shown():
    """A reviewer (issue 17): HELP's family profile showed the mean baseline of a yes/no
    measure (employed), 0.5522388 = 74 / 134: a count of clients no plan audits. Under a plan
    such a mean is "suppressed"; a mean of scores is shown."""
    import pandas as pd

    from analysis.report import disclosure_tables as masks

    t = pd.DataFrame(
        {
            "group": ["both"],
            "n_clients": [134],
            "baseline_functional": [74 / 134],
            "mean age": [41.0],
        }
    )
    t.attrs["n_values"] = {"baseline_functional": [134], "mean age": [134]}
    t.attrs["binary"] = ["baseline_functional"]
    plan = pd.DataFrame({"cell": ["families x / y: both"], "suppressed": [False], "reason": [""]})
    out = masks.mask_families(t, plan, "x", "y", decimals=2)
    assert out.loc[0, "baseline_functional"] == "suppressed"
    assert out.loc[0, "mean age"] == 41.0 and out.loc[0, "n_clients"] == 134
