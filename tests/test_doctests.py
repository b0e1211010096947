"""The Examples in the public API's docstrings run, and print what they say (doctest).

Every module of the package runs its examples here, except those listed in
``WITHOUT_MODULE_EXAMPLES``; each module run must hold at least one example that runs, so an
example deleted or skipped wholesale is noticed, and a listed module that gains one must leave the
list. The public names of ``analysis.__all__`` still without an Examples section are listed in
``WITHOUT_EXAMPLES``: a new public name must come with an example, and a name that gains one must
leave the list.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import analysis

#: Every module of the package except these runs its docstring examples here; a module listed
#: must really have none that runs (checked), so the list only shrinks.
WITHOUT_MODULE_EXAMPLES = {
    "cli",
    "execute",  # runs notebooks; exercised in test_pipeline*
    "kernel",  # starts kernels; its one example is marked +SKIP
    "pipeline",
    "plots_compare",
    "plots_session",
    "validate",  # the command line; exercised in test_io and test_readers_bad_exports
}

#: Module name (last part, so the list survives the move into subpackages) -> full name.
_MODULES = {
    m.name.rsplit(".", 1)[-1]: m.name
    for m in pkgutil.walk_packages(analysis.__path__, "analysis.")
    if not m.ispkg and not m.name.endswith("__main__")
}
DOCTEST_MODULES = sorted(f for short, f in _MODULES.items() if short not in WITHOUT_MODULE_EXAMPLES)

#: Public names (``analysis.__all__``) still without Examples (to be written; issue 18).
WITHOUT_EXAMPLES: set[str] = set()

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples_run(name):
    """Every example of the module runs and prints what its docstring says."""
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{name} has no example that runs"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_public_names_have_examples_or_are_listed():
    """Each name of ``analysis.__all__`` has an Examples section, or is listed as still lacking one
    (and the list names only public names that really lack one)."""
    lacking = {
        n for n in analysis.__all__ if "Examples\n" not in (getattr(analysis, n).__doc__ or "")
    }
    if analysis.__doc__ is None:  # python -OO: nothing to check
        pytest.skip("docstrings stripped (python -OO)")
    assert lacking == WITHOUT_EXAMPLES, {
        "public names without Examples (write one)": sorted(lacking - WITHOUT_EXAMPLES),
        "listed but now have Examples (unlist)": sorted(WITHOUT_EXAMPLES - lacking),
    }
    assert set(DOCTEST_MODULES) >= {
        getattr(analysis, n).__module__ for n in set(analysis.__all__) - lacking
    }


@pytest.mark.parametrize("name", sorted(WITHOUT_MODULE_EXAMPLES))
def test_modules_listed_without_examples_have_none(name):
    """A listed module has no example that runs (write one, then unlist it)."""
    module = importlib.import_module(_MODULES[name])
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__):
        runner.run(test, out=lambda _text: None)
    assert runner.summarize(verbose=False).attempted == 0, f"{name} has examples now: unlist it"
