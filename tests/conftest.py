"""Fixtures for every test folder: the shared real-data folder (skipped cleanly without it).

Property tests are derandomized (a fixed seed per test, no example database): the suite must
pass or fail the same way on every run. `TAILGATE_HYPOTHESIS=explore` searches afresh.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from tests.shared_data import data_dir

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(
    "explore" if os.environ.get("TAILGATE_HYPOTHESIS") == "explore" else "deterministic"
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = data_dir()
    if found is None:
        pytest.skip("shared real-data folder not found (set TAILGATE_DATA_DIR)")
    return found


@pytest.fixture(scope="session")
def real_file(shared_data: Path) -> Callable[[str], Path]:
    """A file of the shared data folder by relative path; skips when that file is absent."""

    def find(relative: str) -> Path:
        path = shared_data / relative
        if not path.exists():
            pytest.skip(f"{relative} not in the shared data folder")
        return path

    return find
