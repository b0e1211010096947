"""Run configuration of the main job: the runs file, overrides, typed parameters, reference checks.

A runs file (``config/runs.yaml`` by default) names the runs; :func:`load_runs` reads and checks
its structure, :func:`apply_overrides` applies ``-p [RUN.]NAME=VALUE``, :func:`prepare_runs`
types every parameter against the notebooks' declarations (:mod:`analysis.run.params`) and checks
what the types cannot say (the measure exists, the files named exist and read) before any notebook
starts. The command line is :mod:`analysis.run.pipeline`.

Examples
--------
>>> runs = prepare_runs(load_runs())  # the package's config/runs.yaml, typed
>>> runs["btheb"]["dataset"], runs["btheb"]["parameters"]["measure"]
('btheb', 'bdi2')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from analysis.registry import paths
from analysis.run import params as _params

__all__ = [
    "DEFAULT_RUNS",
    "load_runs",
    "apply_overrides",
    "prepare_runs",
    "discover_notebooks",
    "notebook_parameters",
]

DEFAULT_RUNS = paths.CONFIG_DIR / "runs.yaml"
_RUN_KEYS = {"title", "dataset", "dataset_options", "parameters"}
_RUN_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def load_runs(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Load and check the structure of a runs file (parameters are typed by :func:`prepare_runs`).

    Parameters
    ----------
    path : path, optional
        Runs YAML; default the package's ``config/runs.yaml``.

    Returns
    -------
    dict
        Run name -> ``{"title", "dataset", "dataset_options", "parameters", "instruments"}``;
        ``instruments`` lists the run's user instrument files (absolute paths as text: the runs
        file's top-level ones, then the run's ``dataset_options.instruments``); for a ``file``
        run ``dataset_options.instruments`` holds the same list, so a notebook loading the data
        sees them.

    Raises
    ------
    ValueError
        Naming the place: the top level is not a mapping with a ``runs`` mapping, a run name is
        not text of letters, digits, ``_`` and ``-`` (e.g. ``2024:`` read as a number), a run has
        an unknown key, lacks ``dataset``, names an unknown dataset, or its ``dataset_options`` or
        ``parameters`` is not a mapping, or a user instrument file is missing or invalid; or
        the runs file itself does not exist ("runs file PATH: no such file").
    """
    from analysis.data.datasets import DATASETS
    from analysis.registry.config import load_yaml
    from analysis.registry.instruments import instrument_files, load_user_instruments

    p = Path(path) if path else DEFAULT_RUNS
    if not p.is_file():
        raise ValueError(f"runs file {p}: " + ("not a file" if p.exists() else "no such file"))
    raw = load_yaml(p, what="runs file", allowed_keys=["runs", "instruments"])
    top = raw.get("instruments")
    try:
        if isinstance(top, dict):  # the entries themselves: this file is an instrument file
            top_files = [p.resolve()]
        else:
            top_files = instrument_files(top)
        load_user_instruments(top_files)
    except (TypeError, FileNotFoundError) as exc:
        raise ValueError(f"{p}: instruments: {exc}") from None
    if not isinstance(raw.get("runs"), dict) or not raw["runs"]:
        raise ValueError(f"{p}: 'runs' must be a non-empty mapping of run name -> settings")
    runs = {}
    for name, cfg in raw["runs"].items():
        where = f"{p}: runs.{name}"
        if not isinstance(name, str) or not _RUN_NAME.match(name):
            raise ValueError(
                f"{where}: a run name must be text of letters, digits, '_' and '-' (quote "
                f"names that YAML reads as numbers), got {name!r}"
            )
        if not isinstance(cfg, dict):
            raise ValueError(f"{where}: must be a mapping with at least 'dataset'")
        unknown = sorted(set(map(str, cfg)) - _RUN_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_RUN_KEYS)}")
        if cfg.get("dataset") not in DATASETS:
            raise ValueError(
                f"{where}.dataset: must be one of {sorted(DATASETS)}, got {cfg.get('dataset')!r}"
            )
        for key in ("dataset_options", "parameters"):
            if not isinstance(cfg.get(key) or {}, dict):
                raise _params.ParameterError(f"runs.{name}.{key}", "must be a mapping")
        options = dict(cfg.get("dataset_options") or {})
        try:
            files = top_files + [
                f for f in instrument_files(options.get("instruments")) if f not in top_files
            ]
            load_user_instruments(files)
        except (TypeError, FileNotFoundError) as exc:
            raise ValueError(f"{where}.dataset_options.instruments: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if "instruments" in options or (files and cfg["dataset"] == "file"):
            if cfg["dataset"] != "file":
                raise ValueError(
                    f"{where}.dataset_options.instruments: only a run of dataset 'file' reads "
                    "instruments from its options; put them at the top of the runs file"
                )
            options["instruments"] = [str(f) for f in files]
        runs[name] = {
            "title": str(cfg.get("title", name)),
            "dataset": cfg["dataset"],
            "dataset_options": options,
            "parameters": dict(cfg.get("parameters") or {}),
            "instruments": [str(f) for f in files],
        }
    return runs


def discover_notebooks() -> list[Path]:
    """The project's notebooks, ``<root>/notebooks/NN_*.ipynb``, in name order."""
    return sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def apply_overrides(
    runs: dict[str, dict[str, Any]],
    overrides: Sequence[str],
    schema: dict[str, _params.Param] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply ``NAME=VALUE`` / ``RUN.NAME=VALUE`` overrides.

    Each is parsed by :func:`analysis.run.params.parse_override`.

    Returns
    -------
    dict
        A new runs mapping (the input is not modified).

    Raises
    ------
    ValueError
        For a malformed override, an unknown parameter or run, or a badly typed value.
    """
    out = {k: {**v, "parameters": dict(v["parameters"])} for k, v in runs.items()}
    for text in overrides:
        run, name, value = _params.parse_override(text, schema)
        if run is not None and run not in out:
            raise _params.ParameterError(
                f"{run}.{name}", f"no run {run!r} is selected; runs: {sorted(out)}"
            )
        for r in [run] if run else list(out):
            out[r]["parameters"][name] = value
    return out


def prepare_runs(
    runs: dict[str, dict[str, Any]],
    overrides: Sequence[str] = (),
    notebooks: Sequence[Path] | None = None,
) -> dict[str, dict[str, Any]]:
    """Type-check every run's parameters (after the overrides) before anything executes.

    Parameters
    ----------
    runs : dict
        Output of :func:`load_runs`.
    overrides : sequence of str
        ``NAME=VALUE`` or ``RUN.NAME=VALUE``.
    notebooks : sequence of Path, optional
        Their declared parameters extend the schema (default: the project's notebooks).

    Returns
    -------
    dict
        Runs with typed ``parameters``; a run with a ``measure`` but no ``reliability`` gets the
        registry's value for that measure (:func:`analysis.run.params.with_registry_defaults`).

    Raises
    ------
    analysis.run.params.ParameterError
        (a ValueError) naming the parameter, e.g. ``runs.btheb.parameters.reliability``.
    """
    schema = _params.schema_for_notebooks(
        notebooks if notebooks is not None else discover_notebooks()
    )
    runs = apply_overrides(runs, overrides, schema)
    typed = {
        name: {
            **cfg,
            "parameters": _params.validate_parameters(
                cfg["parameters"], schema, where=f"runs.{name}.parameters"
            ),
        }
        for name, cfg in runs.items()
    }
    from analysis.registry.instruments import using_instruments

    for name, cfg in typed.items():
        _check_references(name, cfg)
        where = f"runs.{name}.parameters"
        with using_instruments(cfg.get("instruments")):  # the run's own instruments too
            cfg["parameters"] = _params.with_registry_defaults(cfg["parameters"], where=where)
    return typed


def _check_references(name: str, cfg: dict[str, Any]) -> None:
    """Check what the types cannot say.

    The measure exists, the files named exist, the definitions file is valid. Raises
    :class:`analysis.run.params.ParameterError` naming the parameter.
    """
    from analysis.registry.definitions import load_definitions
    from analysis.registry.instruments import load_registry, using_instruments

    where = f"runs.{name}"
    params = cfg["parameters"]
    with using_instruments(cfg.get("instruments")):
        reg = load_registry()
        _check_run_inputs(name, cfg, reg, where, params, load_definitions)


def _check_run_inputs(name, cfg, reg, where, params, load_definitions) -> None:
    measure = params.get("measure")
    cohort = None  # read here only for a user's export, or when a post time must be looked up
    if measure is not None and measure not in reg:
        raise _params.ParameterError(
            f"{where}.parameters.measure",
            f"unknown measure {measure!r}; the instrument registry knows {sorted(reg)}",
        )
    if cfg["dataset"] == "file":
        path = cfg["dataset_options"].get("path")
        if not path:
            raise _params.ParameterError(
                f"{where}.dataset_options.path",
                "a run of dataset 'file' needs the path of the export",
            )
        from analysis.registry.paths import resolve_path

        if not resolve_path(path).is_file():
            raise _params.ParameterError(
                f"{where}.dataset_options.path", f"no such file: {resolve_path(path)}"
            )
        from analysis.data.readers import read_cohort_file

        try:  # read it now: a bad export stops the job before any notebook starts
            cohort, q = read_cohort_file(cfg["dataset_options"])
        except (ValueError, OSError) as exc:
            raise _params.ParameterError(f"{where}.dataset_options", str(exc)) from None
        if cohort.scores["score"].notna().sum() == 0:
            reasons = ", ".join(f"{r} {n}" for r, n in q.summary()["reasons"].items())
            raise _params.ParameterError(
                f"{where}.dataset_options",
                f"{q.source}: no usable score ({q.account()}; quarantined: {reasons or 'none'}); "
                'nothing to analyse. `make validate ARGS="-f RUNS.yaml"` lists the records',
            )
        if measure is not None and measure not in cohort.measures:
            raise _params.ParameterError(
                f"{where}.parameters.measure",
                f"measure {measure!r} is not in the export {q.source}; its measures: "
                f"{sorted(cohort.measures)} (set measure to one of them)",
            )
    defs = params.get("definitions")
    p = None
    if defs:
        p = Path(defs) if Path(defs).is_absolute() else paths.project_root() / defs
        if not p.is_file():
            raise _params.ParameterError(f"{where}.parameters.definitions", f"no such file: {p}")
        try:
            load_definitions(p, measure=measure)
        except ValueError as exc:
            raise _params.ParameterError(f"{where}.parameters.definitions", str(exc)) from None
    compare = params.get("compare") or []
    if compare:
        known = [d["name"] for d in load_definitions(p, measure=measure)]
        unknown = [c for c in compare if c not in known]
        if unknown:
            raise _params.ParameterError(
                f"{where}.parameters.compare",
                f"unknown definition(s) {unknown} in run {name!r}; the definitions "
                f"({p or 'package default'}) are: {known}",
            )
    post = params.get("post", "last")
    if post not in (None, "last"):
        _check_post(name, cfg, where, post, measure, cohort)
    if params.get("multiverse") not in (None, "") or params.get("imputations") is not None:
        _check_multiverse(params, where, measure, load_definitions)


def _check_post(name, cfg, where, post, measure, cohort) -> None:
    """``post`` is "last" or a time point at which the run's data have the measure."""
    try:
        when = float(post)
    except (TypeError, ValueError):
        when = float("nan")
    if not (when == when and abs(when) != float("inf")):
        raise _params.ParameterError(
            f"{where}.parameters.post",
            f'must be "last" or a time point written as text, e.g. "8", got {post!r}',
        )
    if cohort is None:  # a bundled dataset: load it (only when a time point is asked for)
        from analysis.data.datasets import load_dataset

        try:
            cohort = load_dataset(cfg["dataset"], **(cfg.get("dataset_options") or {}))
        except (ValueError, TypeError, OSError) as exc:
            raise _params.ParameterError(f"{where}.dataset_options", str(exc)) from None
    s = cohort.scores
    if measure is not None and measure in set(s["measure"].unique()):
        s = s.loc[s["measure"] == measure]
    times = sorted(float(x) for x in s.loc[s["score"].notna(), "time"].unique())
    if when not in times:
        shown = ", ".join(f"{x:g}" for x in times) or "none"
        raise _params.ParameterError(
            f"{where}.parameters.post",
            f"time point {post!r} is not in the data of run {name!r} ({measure or 'scores'} "
            f'measured at {cohort.time_unit} {shown}); allowed: "last" or one of these',
        )


def _check_multiverse(params, where, measure, load_definitions) -> None:
    """The multiverse grid (a file or a mapping) is valid and names known definitions."""
    from analysis.run.workflow import multiverse_grid

    try:
        grid = multiverse_grid(params.get("multiverse"), params.get("imputations"))
        names = grid["grid"]["definitions"]
        if not isinstance(names, str):
            defs = params.get("definitions") or None
            if defs and not Path(defs).is_absolute():
                defs = paths.project_root() / defs
            known = [d["name"] for d in load_definitions(defs, measure=measure)]
            unknown = sorted(set(names) - set(known))
            if unknown:
                src = params["multiverse"] if isinstance(params["multiverse"], str) else "mapping"
                raise ValueError(
                    f"{src}: grid.definitions names unknown definition(s) {unknown}; known: {known}"
                )
    except (ValueError, OSError, yaml.YAMLError) as exc:
        raise _params.ParameterError(f"{where}.parameters.multiverse", str(exc)) from None


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Parameters declared in a notebook's ``parameters`` cell (papermill's inference)."""
    from papermill import inspect_notebook

    found = inspect_notebook(str(path))
    return {k: {"type": v["inferred_type_name"], "default": v["default"]} for k, v in found.items()}
