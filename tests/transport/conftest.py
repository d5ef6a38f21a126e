"""Transport tests log through structlog: send each test's lines to its own buffer.

The process-wide structlog configuration may point at a stream an earlier test has closed
(e.g. a `capsys` stderr), so each test gets a fresh in-memory sink at DEBUG — which also
renders every log call of the transports — and the previous configuration is put back after.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import structlog

from tailgate.logs import configure_logging


@pytest.fixture(autouse=True)
def transport_log() -> Iterator[io.StringIO]:
    saved = structlog.get_config()
    sink = io.StringIO()
    configure_logging("DEBUG", "json", stream=sink)
    yield sink
    structlog.configure(**saved)
