"""Every path the project uses, derived from one place.

The project root is the folder holding ``pyproject.toml`` above this package (src layout, editable
install). ``ANALYSIS_PROJECT_ROOT`` overrides it, for an installed copy run against a checkout.
Nothing here depends on the caller's working directory.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "PACKAGE_DIR",
    "CONFIG_DIR",
    "cache_by_file",
    "project_root",
    "resolve_path",
    "notebooks_dir",
    "data_dir",
    "reports_dir",
]

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # analysis/, above registry/
CONFIG_DIR = PACKAGE_DIR / "config"


def project_root() -> Path:
    """Return the project's root folder.

    Returns
    -------
    pathlib.Path
        ``$ANALYSIS_PROJECT_ROOT`` when set, else the nearest folder above this package that holds
        ``pyproject.toml``.

    Raises
    ------
    FileNotFoundError
        If neither is found (an installed, non-editable copy without the variable).
    """
    env = os.environ.get("ANALYSIS_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    for parent in PACKAGE_DIR.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "notebooks").is_dir():
            return parent
    raise FileNotFoundError(
        "Cannot find the project root (a folder with pyproject.toml and notebooks/ above "
        f"{PACKAGE_DIR}). Set ANALYSIS_PROJECT_ROOT to the checkout."
    )


def resolve_path(path: str | Path, root: str | Path | None = None) -> Path:
    """Resolve a spec path: absolute as given, relative against the project root.

    Parameters
    ----------
    path : str or Path
    root : str or Path, optional
        Base folder for relative paths; default :func:`project_root` (never the
        caller's working directory).
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    return Path(root if root is not None else project_root()) / p


def notebooks_dir() -> Path:
    """Folder of the parameterised notebooks (``<root>/notebooks``)."""
    return project_root() / "notebooks"


def data_dir() -> Path:
    """Folder for generated data (``<root>/data``; gitignored but for its README)."""
    return project_root() / "data"


def reports_dir() -> Path:
    """Folder for rendered reports (``<root>/reports``; rebuilt by the pipeline)."""
    return project_root() / "reports"


_T = TypeVar("_T")


def cache_by_file(maxsize: int = 8) -> Callable[[Callable[[str], _T]], Callable[[str], _T]]:
    """Cache a loader of one file by path, modification time and size.

    Unlike ``functools.lru_cache`` on the path alone, an edited file (a registry or definitions
    YAML changed while a notebook kernel runs) is read again on the next call: the key is
    ``(path, st_mtime_ns, st_size)``. A missing file raises ``FileNotFoundError`` from
    :func:`os.stat`, as the loader's ``open`` would.

    Parameters
    ----------
    maxsize : int
        Number of (path, version) entries kept (least recently used dropped first).

    Returns
    -------
    callable
        A decorator for a function of one argument, the file's path (str). The wrapped function
        has ``cache_clear()`` and ``cache_info()`` like ``functools.lru_cache``.

    Examples
    --------
    >>> import tempfile
    >>> @cache_by_file()
    ... def size_of(path):
    ...     return len(Path(path).read_text())
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     f = Path(tmp) / "a.yaml"
    ...     _ = f.write_text("x: 1")
    ...     first = size_of(str(f))
    ...     _ = f.write_text("x: 10")
    ...     first, size_of(str(f))
    (4, 5)
    """

    def decorate(load: Callable[[str], _T]) -> Callable[[str], _T]:
        @functools.lru_cache(maxsize=maxsize)
        def cached(path: str, mtime_ns: int, size: int) -> _T:
            return load(path)

        @functools.wraps(load)
        def wrapper(path: str) -> _T:
            st = os.stat(path)
            return cached(path, st.st_mtime_ns, st.st_size)

        wrapper_any: Any = wrapper
        wrapper_any.cache_clear = cached.cache_clear
        wrapper_any.cache_info = cached.cache_info
        return wrapper

    return decorate
