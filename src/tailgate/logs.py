"""Structured logs (structlog): JSON lines by default, every decision with its context.

Secrets never reach a log line: values typed as `SecretStr` and values under secret-looking
keys are replaced before rendering, whatever the caller passed.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog
from pydantic import SecretStr

__all__ = ["configure_logging", "get_logger", "redact_secrets"]

REDACTED = "***"
_SECRET_KEY = re.compile(r"(private_?key|secret|password|passphrase|api_?key|token|mnemonic)", re.I)


def redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: blank out secrets by type and by key name."""
    for key, value in list(event_dict.items()):
        if isinstance(value, SecretStr) or (_SECRET_KEY.search(key) and value is not None):
            event_dict[key] = REDACTED
    return event_dict


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written — not the object it was at configure
    time, which a test runner or a daemonising parent may have closed since."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    level: str = "INFO", fmt: str = "json", file: Path | None = None, stream: TextIO | None = None
) -> None:
    """Configure structlog once for the process; `file` wins over `stream` (default stderr)."""
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        out: TextIO = file.open("a", encoding="utf-8")
    else:
        out = stream or _CurrentStderr()
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
