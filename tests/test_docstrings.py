"""Every example in the package's docstrings runs and prints what it shows (the API reference
and ``help()`` show them, so a stale one misleads a reader)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import autodiff

MODULES = sorted(info.name for info in pkgutil.walk_packages(autodiff.__path__, prefix="autodiff."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_shown(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=False)
    assert result.failed == 0, (
        f"{result.failed} docstring example(s) of {name} fail; run python -m doctest -v on it"
    )
