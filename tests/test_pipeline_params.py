"""Parameters are typed and checked before any notebook starts (issue 7, item 1).

Each bad configuration must stop ``python -m analysis run`` with exit code 2, a message naming the
parameter, and no output at all (no run folder, no index): nothing may execute on bad input.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.run import params, pipeline
from analysis.run import runs as run_config

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, runs_yaml: str | None, *extra: str, capsys) -> tuple[int, str]:
    argv = ["--out", str(tmp_path / "out"), *extra]
    if runs_yaml is not None:
        f = tmp_path / "runs.yaml"
        f.write_text(runs_yaml, encoding="utf-8")
        argv += ["-f", str(f)]
    code = pipeline.main(argv)
    err = capsys.readouterr().err
    return code, err


def _nothing_ran(tmp_path: Path) -> bool:
    out = tmp_path / "out"
    return not out.exists() or not any(out.iterdir())


RUN = "runs:\n  mine:\n    dataset: btheb\n    parameters:\n"


@pytest.mark.parametrize(
    ("body", "name", "words"),
    [
        # unknown name (a typo of reliability)
        (
            "      reliabilty: 0.9\n",
            "runs.mine.parameters.reliabilty",
            "did you mean 'reliability'",
        ),
        # the text "false" where a boolean is expected
        (
            '      suppress_small_counts: "false"\n',
            "runs.mine.parameters.suppress_small_counts",
            "boolean",
        ),
        # a number where text is expected: YAML reads 8 as an int
        ("      post: 8\n", "runs.mine.parameters.post", "quotes"),
        # out of range: r = 1 would give an infinite RCI
        ("      reliability: 1\n", "runs.mine.parameters.reliability", "strictly between"),
        ("      cutoff_type: d\n", "runs.mine.parameters.cutoff_type", "one of"),
        # set by the pipeline, not the user
        ("      output_dir: /tmp/x\n", "runs.mine.parameters.output_dir", "set by the pipeline"),
        # tester's findings: each once failed notebooks instead of stopping the job.
        # BtheB (BDI-II) is measured at months 0, 2, 3, 5, 8: "99" failed 5 of 6 notebooks
        (
            '      post: "99"\n',
            "runs.mine.parameters.post",
            "'99' is not in the data of run 'mine' (scores measured at month 0, 2, 3, 5, 8); "
            'allowed: "last" or one of these',
        ),
        ('      post: "end"\n', "runs.mine.parameters.post", 'must be "last" or a time point'),
        # an unknown definition failed 4 notebooks
        ("      compare: [nope]\n", "runs.mine.parameters.compare", "unknown definition(s)"),
        # a negative criterion-1 cutoff failed notebook 06; a band of 1.5 went unchecked
        ("      sg_cutoff: -3\n", "runs.mine.parameters.sg_cutoff", "must be above 0.0"),
        ("      band: 1.5\n", "runs.mine.parameters.band", "strictly between 0.0 and 1.0"),
        ("      sg_pct: 25\n", "runs.mine.parameters.sg_pct", "between 0.0 and 1.0"),
    ],
)
def test_bad_parameter_in_file_stops_before_anything_runs(tmp_path, capsys, body, name, words):
    code, err = _run(tmp_path, RUN + body, capsys=capsys)
    assert code == 2
    assert f"parameter {name!r}" in err and words in err
    assert _nothing_ran(tmp_path)


def test_site_code_read_as_number_is_rejected(tmp_path, capsys):
    """YAML 1.1 reads ``0012`` as the octal integer 10: a site code must be quoted. The ``site``
    parameter is declared only by the notebook (``site: str``), so the schema comes from it."""
    import nbformat  # here, not at collection: it imports jsonschema's slow format checkers

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('site: str = ""  # site code, e.g. "0012"')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "50_sites.ipynb"
    nbformat.write(nb, path)
    code, err = _run(tmp_path, RUN + "      site: 0012\n", "--notebook", str(path), capsys=capsys)
    assert code == 2 and "parameter 'runs.mine.parameters.site'" in err
    assert "int 10" in err and "quotes" in err
    assert _nothing_ran(tmp_path)
    # quoted, it is accepted and stays text
    runs = run_config.prepare_runs(
        {
            "mine": {
                "title": "m",
                "dataset": "btheb",
                "dataset_options": {},
                "parameters": {"site": "0012"},
            }
        },
        notebooks=[path],
    )
    assert runs["mine"]["parameters"]["site"] == "0012"
    # from the command line the declared type decides: the text stays text
    assert params.parse_override("site=0012", params.schema_for_notebooks([path])) == (
        None,
        "site",
        "0012",
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- btheb\n- help\n", "top level of a runs file must be a mapping"),
        (
            "runs: {}\nrun: {}\n",
            "unknown top-level key(s) in the runs file: 'run' (did you mean 'runs'?)",
        ),
        ("runs:\n  a: {dataset: btheb}\n  a: {dataset: help}\n", "key 'a' is given twice"),
        ("runs:\n  - btheb\n", "'runs' must be a non-empty mapping"),
        ("runs:\n  mine:\n    dataset: nosuchdata\n", "runs.mine.dataset"),
        ("runs:\n  mine:\n    dataset: btheb\n    paramters: {}\n", "unknown key(s) ['paramters']"),
        ("runs:\n  2024:\n    dataset: btheb\n", "run name must be text"),
        ("runs:\n  mine:\n    dataset: btheb\n    parameters: [1, 2]\n", "runs.mine.parameters"),
        ("runs: [unclosed\n", "expected"),  # YAML syntax error
    ],
)
def test_bad_runs_file_structure(tmp_path, capsys, text, words):
    code, err = _run(tmp_path, text, capsys=capsys)
    assert code == 2 and words in err
    assert _nothing_ran(tmp_path)


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("suppress_small_counts=no", "parameter 'suppress_small_counts': must be true or false"),
        ("reliability=high", "parameter 'reliability': must be a number"),
        ("btheb.nosuch=1", "parameter 'nosuch': unknown parameter"),
        ("nosuchrun.reliability=0.9", "no run 'nosuchrun'"),
        ("reliability", "NAME=VALUE"),
        ("run_name=x", "set by the pipeline"),
    ],
)
def test_bad_override(tmp_path, capsys, override, words):
    code, err = _run(tmp_path, None, "-p", override, capsys=capsys)
    assert code == 2 and words in err
    assert _nothing_ran(tmp_path)


def test_overrides_are_typed_and_scoped():
    runs = run_config.load_runs()  # the default config/runs.yaml
    out = run_config.prepare_runs(
        runs, ["btheb.reliability=0.9", "suppress_small_counts=false", "btheb.post=8"]
    )
    assert out["btheb"]["parameters"]["reliability"] == 0.9
    assert (
        out["help"]["parameters"]["reliability"]
        == 0.90
        == runs["help"]["parameters"]["reliability"]
    )
    assert out["help"]["parameters"]["suppress_small_counts"] is False
    assert out["btheb"]["parameters"]["post"] == "8"  # text, as declared
    assert runs["btheb"]["parameters"]["reliability"] == 0.92  # input not modified


def test_good_post_compare_and_session_parameters_pass():
    """The checks above refuse only what is wrong: month 8 is a BtheB time point, remission a
    definition of the package default, 5 points a positive cutoff and .8 a band."""
    runs = run_config.load_runs()
    good = {"btheb": runs["btheb"]}
    out = run_config.prepare_runs(
        good, ["post=8", "compare=[remission]", "sg_cutoff=5", "band=0.8", "sg_pct=0.25"]
    )
    p = out["btheb"]["parameters"]
    assert (p["post"], p["compare"], p["sg_cutoff"], p["band"]) == ("8", ["remission"], 5.0, 0.8)


def test_integer_for_float_becomes_float_but_bool_does_not():
    assert params.validate_parameters({"m_functional": 7})["m_functional"] == 7.0
    assert isinstance(params.validate_parameters({"m_functional": 7})["m_functional"], float)
    with pytest.raises(params.ParameterError, match="m_functional"):
        params.validate_parameters({"m_functional": True})
    assert params.validate_parameters({"m_functional": None}) == {"m_functional": None}
    with pytest.raises(params.ParameterError, match="null"):
        params.validate_parameters({"reliability": None})


def test_default_runs_file_is_valid():
    runs = run_config.prepare_runs(run_config.load_runs())
    assert set(runs) == {"btheb", "help", "simulated"}
    assert runs["btheb"]["parameters"]["measure"] == "bdi2"


def test_references_checked_before_anything_runs(tmp_path, capsys):
    """A measure not in the registry, a definitions file that is missing or invalid, and a user
    export that does not exist stop the job with exit code 2 naming the parameter, before any
    notebook starts (a fresh-clone trial found they failed late, inside a notebook)."""
    out = tmp_path / "out"
    assert pipeline.main(["--only", "btheb", "--out", str(out), "-p", "measure=nosuch"]) == 2
    assert "runs.btheb.parameters.measure" in capsys.readouterr().err
    assert (
        pipeline.main(
            ["--only", "btheb", "--out", str(out), "-p", f"definitions={tmp_path / 'none.yaml'}"]
        )
        == 2
    )
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "defs.yaml"
    bad.write_text("definitions:\n  - name: r\n    family: symptom\n    rule: magic\n")
    assert pipeline.main(["--only", "btheb", "--out", str(out), "-p", f"definitions={bad}"]) == 2
    assert "unknown rule kind 'magic'" in capsys.readouterr().err
    runs = tmp_path / "runs.yaml"
    runs.write_text(
        "runs:\n  mine:\n    dataset: file\n    dataset_options: {path: nowhere.csv}\n"
        "    parameters: {measure: phq9}\n"
    )
    assert pipeline.main(["-f", str(runs), "--out", str(out)]) == 2
    assert "runs.mine.dataset_options.path" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_measure_not_in_the_export_stops_before_anything_runs(tmp_path, capsys):
    """A file run whose measure is not among the export's measures (the example clinic export
    holds BAI only) stops with exit code 2 naming the parameter and the measures present, before
    any notebook starts (a new user's -p measure=phq9 failed inside notebook 01)."""
    out = tmp_path / "out"
    runs = str(ROOT / "examples" / "bai_clinic" / "runs.yaml")
    code = pipeline.main(["-f", runs, "--out", str(out), "-p", "measure=phq9"])
    err = capsys.readouterr().err
    assert code == 2
    assert "runs.clinic.parameters.measure" in err
    assert "measure 'phq9' is not in the export" in err and "bai_export.csv" in err
    assert "its measures: ['bai']" in err
    assert not out.exists() or not any(out.iterdir())
    # the same runs file with its own measure passes the check
    typed = run_config.prepare_runs(run_config.load_runs(runs))
    assert typed["clinic"]["parameters"]["measure"] == "bai"


def test_missing_runs_file_is_named_not_an_errno(tmp_path, capsys):
    nope = tmp_path / "my_study" / "nope.yaml"
    assert pipeline.main(["-f", str(nope), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: runs file {nope}: no such file"
    assert "Errno" not in err


def test_reliability_defaults_to_the_registry_value_of_the_measure():
    """A run that names a measure but no reliability gets that measure's registry reliability
    and its source, not a notebook's literal default (0.92, BDI-II's; issue 18); PHQ-9's .89
    differs from it, so the check fails on the old default."""
    from analysis.registry.instruments import get_instrument

    runs = {
        "a": {
            "title": "A",
            "dataset": "simulated",
            "dataset_options": {},
            "parameters": {"measure": "phq9"},
        },
        "b": {
            "title": "B",
            "dataset": "simulated",
            "dataset_options": {},
            "parameters": {"measure": "phq9", "reliability": 0.8},
        },
    }
    out = run_config.prepare_runs(runs)
    rel = get_instrument("phq9").reliability
    assert out["a"]["parameters"]["reliability"] == rel["value"] == 0.89  # Kroenke et al. 2001
    assert out["a"]["parameters"]["reliability_source"].startswith(rel["source"])
    assert "instrument registry" in out["a"]["parameters"]["reliability_source"]
    assert out["b"]["parameters"]["reliability"] == 0.8  # a given value is kept
    assert "reliability_source" not in out["b"]["parameters"]
    assert "reliability" not in runs["a"]["parameters"]  # input not modified
