"""What the plugin keeps per run in `config.stash`, and the settings resolved once.

Its own module so that the plugin's parts (reporting, results, deadline) and the
report writers' hooks reach the run's state without importing `opscheck.plugin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from opscheck.plugin import settings as _settings

if TYPE_CHECKING:
    pass

SETTINGS = pytest.StashKey[_settings.Settings]()
LISTENER = pytest.StashKey["ResultsListener"]()
PREFETCHER = pytest.StashKey["Prefetcher"]()


def settings(config: pytest.Config) -> _settings.Settings:
    """CLI → env → ini, resolved on first use and kept for the run."""
    resolved = config.stash.get(SETTINGS, None)
    if resolved is None:
        resolved = config.stash[SETTINGS] = _settings.resolve(config)
    return resolved
