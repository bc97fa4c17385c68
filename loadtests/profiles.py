"""Load profiles: how many simulated users over the run (locust-free, so tests can import it).

``constant`` holds the peak for the whole run; ``step`` climbs to it in four equal steps;
``spike`` idles at a third of it, jumps to all of it for the middle fifth of the run and falls
back.
"""

from __future__ import annotations

import math
import re

PROFILES = ("constant", "step", "spike")
STEPS = 4
SPIKE = (0.4, 0.6)  # the spike's start and end, as fractions of the run
BASELINE = 1 / 3


def users_at(profile: str, progress: float, users: int) -> int:
    """Users wanted at ``progress`` (0..1) of the run, for a peak of ``users``."""
    if profile == "step":
        return math.ceil(users * (min(int(progress * STEPS), STEPS - 1) + 1) / STEPS)
    if profile == "spike":
        return users if SPIKE[0] <= progress < SPIKE[1] else math.ceil(users * BASELINE)
    if profile == "constant":
        return users
    raise ValueError(f"unknown load profile {profile!r}; known: {', '.join(PROFILES)}")


def seconds(span: str) -> int:
    """``30``, ``30s``, ``2m``, ``1h30m`` → seconds (locust's ``--run-time`` syntax)."""
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s?)?", span.strip())
    if not span.strip() or match is None:
        raise ValueError(f"not a time span: {span!r} (e.g. 30s, 2m, 1h30m)")
    hours, minutes, secs = (int(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + secs
