"""Fall back to polling while a stream is unhealthy, return to streaming when it recovers.

SPEC §R2: a consumer must not go blind because its socket did. `PollingFallback` watches a
`ResilientStream`; once the stream has been unhealthy for `grace_s` (a reconnect that heals in
a moment is not worth a poll), it calls `poll()` every `interval_s` until the stream is healthy
again. `poll` is the consumer's REST fetch (the same one that backfills gaps); its exceptions are
logged and polling goes on, so a failing fallback cannot take the consumer down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tailgate.logs import get_logger
from tailgate.transport.ws import ResilientStream, StreamHealth

__all__ = ["PollingFallback"]

log = get_logger("tailgate.transport.fallback")


def _healthy(health: StreamHealth) -> bool:
    return health is StreamHealth.HEALTHY


def _unhealthy(health: StreamHealth) -> bool:
    return health is not StreamHealth.HEALTHY


class PollingFallback:
    """Run as a task next to the stream (`asyncio.create_task(fallback.run())`); cancel to stop."""

    def __init__(
        self,
        stream: ResilientStream,
        poll: Callable[[], Awaitable[None]],
        *,
        interval_s: float,
        grace_s: float = 5.0,
    ) -> None:
        if interval_s <= 0 or grace_s < 0:
            raise ValueError("polling needs interval_s > 0 and grace_s >= 0")
        self.stream = stream
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.polls = 0
        self._poll = poll
        self._polling = False

    @property
    def polling(self) -> bool:
        return self._polling

    async def run(self) -> None:
        try:
            while True:
                await self.stream.wait_until(_unhealthy)
                if await self._recovers_within(self.grace_s):
                    continue
                self._set_polling(True)
                while not await self._recovers_within(0.0):
                    await self._poll_once()
                    if await self._recovers_within(self.interval_s):
                        break
                self._set_polling(False)
        finally:
            self._set_polling(False)

    async def _recovers_within(self, seconds: float) -> bool:
        if _healthy(self.stream.health):
            return True
        if seconds <= 0:
            return False
        try:
            await asyncio.wait_for(self.stream.wait_until(_healthy), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _poll_once(self) -> None:
        self.polls += 1
        try:
            await self._poll()
        except Exception:
            log.exception("transport.poll_failed", stream=self.stream.name)

    def _set_polling(self, polling: bool) -> None:
        if polling is self._polling:
            return
        self._polling = polling
        self.stream.metrics.stream_polling.labels(self.stream.name).set(1 if polling else 0)
        log.info(
            "transport.stream_fallback",
            stream=self.stream.name,
            mode="polling" if polling else "streaming",
        )
