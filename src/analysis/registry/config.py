"""The one YAML loader every configuration reader uses (issue 12).

Instruments, definitions, item-scoring rules, runs and simulation parameters are YAML files; each
reader validates its own content, but all of them read the file the same way through
:func:`load_yaml`: UTF-8, ``yaml.safe_load`` semantics, and a clear error naming the file, the line
and the column for what YAML itself would accept silently or report obscurely:

- a key given twice in one mapping (PyYAML keeps the last one without a word; here it is an error,
  since a definition or threshold written twice means one of them is silently ignored);
- a syntax error (file, line, column and YAML's own description);
- a top level that is not a mapping, a required top-level key that is missing or empty, and
  top-level keys that the reader does not know (with the nearest known key as a suggestion).

Its readers: :mod:`analysis.registry.instruments` (instrument files),
:mod:`analysis.registry.definitions` (definitions files), :mod:`analysis.data.items` (item scoring
rules), :func:`analysis.data.readers.load_spec` (reader specs),
:func:`analysis.run.runs.load_runs` (runs files) and :func:`analysis.data.simulate.load_params`
(simulation parameters, whose errors it re-raises as ``ParameterError``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigError", "load_yaml"]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file (and line, column)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:  # the keys as written; merged (<<) keys may be overridden
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # the base constructor reports an unhashable key itself
        if key in seen:
            first = seen[key].start_mark
            raise yaml.constructor.ConstructorError(
                f"while constructing the mapping that starts on line {node.start_mark.line + 1}",
                node.start_mark,
                f"key {key!r} is given twice (first on line {first.line + 1}); "
                "YAML would keep only the last value",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(
    path: str | Path,
    *,
    what: str = "configuration file",
    top_key: str | None = None,
    allowed_keys: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Read a YAML configuration file into a dict, with errors that name file, line and column.

    Parameters
    ----------
    path : str or Path
        The YAML file (UTF-8).
    what : str, default "configuration file"
        What the file is, for messages ("instrument registry", "runs file", ...).
    top_key : str, optional
        A top-level key that must be present and hold a non-empty mapping or list
        (``instruments``, ``runs``, ``rules``, ``definitions``, ...).
    allowed_keys : iterable of str, optional
        The top-level keys the reader knows; any other key is an error. Default: any key.

    Returns
    -------
    dict
        The file's top-level mapping, exactly as ``yaml.safe_load`` returns it for a valid file
        (an empty file gives ``{}`` unless ``top_key`` is required).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ConfigError
        (a ``ValueError``) on a YAML syntax error, a key given twice in one mapping, a top level
        that is not a mapping, a missing or empty ``top_key``, or a top-level key not in
        ``allowed_keys``. The message starts with the file, and the line and column where YAML
        reports one (1-based).

    Examples
    --------
    >>> from analysis.registry.paths import CONFIG_DIR
    >>> runs = load_yaml(CONFIG_DIR / "runs.yaml", what="runs file", top_key="runs",
    ...                  allowed_keys=["runs"])
    >>> sorted(runs["runs"])
    ['btheb', 'help', 'simulated']
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p} does not exist")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:  # e.g. saved as 'ANSI' (cp1252) by Notepad, or not text
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ConfigError(
            f"{p}, line {line}, byte {col} (0x{data[err.start]:02x}): not a valid {what}: the "
            "file is not UTF-8 text (saved as ANSI/Windows-1252, or not a YAML file at all); "
            "save it as UTF-8"
        ) from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = " ".join(s for s in (err.context, err.problem) if s)
        raise ConfigError(f"{p}{where}: not a valid {what}: {detail}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not a valid {what}: {err}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{p}: the top level of a {what} must be a mapping (key: value), "
            f"got {type(raw).__name__}"
        )
    if allowed_keys is not None:
        known = [str(k) for k in allowed_keys]
        unknown = [str(k) for k in raw if str(k) not in known]
        if unknown:
            hints = []
            for key in unknown:
                near = difflib.get_close_matches(key, known, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
            raise ConfigError(
                f"{p}: unknown top-level key(s) in the {what}: {', '.join(hints)}; "
                f"known: {sorted(known)}"
            )
    if top_key is not None:
        value = raw.get(top_key)
        if not isinstance(value, dict | list) or not value:
            got = "missing" if top_key not in raw else f"a {type(value).__name__}"
            raise ConfigError(
                f"{p}: a {what} needs a top-level key {top_key!r} holding a non-empty "
                f"mapping or list; it is {got}"
            )
    return raw
