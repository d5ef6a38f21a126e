"""Locating the shared real-data folder for the importer tests (skipped cleanly without it),
and small helpers to write synthetic files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path | None:
    """`$TAILGATE_DATA_DIR`, else `<repo>/../shared/data`; None when neither exists."""
    env = os.environ.get("TAILGATE_DATA_DIR")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


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


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write(name, text) → a file in tmp_path (text written as is: line numbers are exact)."""

    def make(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make
