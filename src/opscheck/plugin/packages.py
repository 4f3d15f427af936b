"""Checks of installed kind packages, collected with the suite's own.

A package of the `opscheck.kinds` entry-point group names in `CHECKS` the
packages that hold its check modules (`test_*.py`, like a suite's `checks/`). When the run collects the suite's default paths (`testpaths`, or the
working directory), their folders are added to what pytest collects, so the
package's checks run, are selected and are reported like the ones in `checks/`.
A run that names its paths on the command line collects exactly those.
"""

from __future__ import annotations

import importlib.util

import pytest

from opscheck import extensions


def add_checks(config: pytest.Config, is_suite: bool) -> None:
    if not is_suite or config.args_source is pytest.Config.ArgsSource.ARGS:
        return
    for module in extensions.modules():
        for name in getattr(module, "CHECKS", ()):
            spec = importlib.util.find_spec(name)
            if spec is None or not spec.submodule_search_locations:
                raise pytest.UsageError(f"{module.__name__}: CHECKS names {name!r}, which is not an installed package")
            for folder in spec.submodule_search_locations:
                if folder not in config.args:
                    config.args.append(folder)
