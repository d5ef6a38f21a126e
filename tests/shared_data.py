"""The shared real-data folder beside the repository (never copied into it), for tests that
read real recorded payloads and market data; they skip cleanly when it is absent."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

__all__ = ["REPO_ROOT", "data_dir", "read_cassette"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path | None:
    """`$TAILGATE_DATA_DIR`, else `<repo>/../shared/data`; None when neither exists."""
    env = os.environ.get("TAILGATE_DATA_DIR")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def _yaml_single_quoted(text: str, start: int) -> str:
    """The YAML single-quoted scalar starting after `start` (vcrpy's `string: '…'`)."""
    parts: list[str] = []
    i = start
    while True:
        j = text.index("'", i)
        if text[j + 1 : j + 2] == "'":  # '' is an escaped quote
            parts.append(text[i : j + 1])
            i = j + 2
            continue
        parts.append(text[i:j])
        break
    # Line folding: a line break plus indentation is a single space.
    return re.sub(r"[ \t]*\n[ \t]*", " ", "".join(parts))


def read_cassette(path: Path) -> list[object]:
    """Response bodies of a vcrpy cassette, in order, as parsed JSON (no PyYAML needed)."""
    text = path.read_text()
    return [json.loads(_yaml_single_quoted(text, m.end())) for m in re.finditer(r"string: '", text)]
