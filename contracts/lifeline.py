"""Signs of life in a CI log: while the suite waits — on a rate-limit window, on a job — it says
what it waits for and for how long, at least every ``INTERVAL`` seconds, so a quiet minute is
never mistaken for a hung job."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

INTERVAL = 15.0
#: Waits shorter than this pass without a line (the throttle's one-second margins).
_QUIET = 1.0
PREFIX = "cbk-contracts: "


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class LifeLine:
    def __init__(
        self,
        write: Callable[[str], None] = _to_stderr,
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.write = write
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._last_said = -float("inf")

    def say(self, message: str) -> None:
        self._last_said = self.clock()
        self.write(PREFIX + message)

    def wait(self, seconds: float, what: str) -> None:
        """Sleep ``seconds``, saying what for at the start and again every ``interval``."""
        end = self.clock() + seconds
        if seconds < _QUIET:
            self.sleep(max(0.0, seconds))
            return
        while (left := end - self.clock()) > 0:
            self.say(f"waiting {left:.0f} s for {what}")
            self.sleep(min(self.interval, left))

    def still(self, message: str, *, since: float) -> None:
        """For a polling loop that started waiting at ``since`` and calls this every round:
        say ``message`` once ``interval`` has gone by without a line."""
        if self.clock() - max(since, self._last_said) >= self.interval:
            self.say(message)
