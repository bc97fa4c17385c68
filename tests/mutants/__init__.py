"""Deliberately broken variants of the mock, to prove the contract suite and the load test
catch real bugs. Test-only: this package is not shipped in the wheel, and nothing under
``mockserver/`` knows it exists. Each mutant monkeypatches one plausible bug into the core.

Start one with ``python -m tests.mutants NAME serve [cbk-mock options]``.
"""

from __future__ import annotations

from collections.abc import Callable

from mockserver.core.limits import RateLimit, RateLimiter

MUTANTS: dict[str, Callable[[], None]] = {}


def mutant(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(apply: Callable[[], None]) -> Callable[[], None]:
        MUTANTS[name] = apply
        return apply

    return register


@mutant("limiter-lets-extra-through")
def _limiter_lets_extra_through() -> None:
    """The limiter enforces 10 more requests than it advertises (a config drift)."""
    original = RateLimiter.hit
    slack = 10

    async def hit(self, principal, now):
        loose = principal.plan.__class__(
            **{
                **principal.plan.__dict__,
                "requests_per_minute": principal.plan.requests_per_minute + slack,
            }
        )
        state = await original(self, principal.__class__(principal.user, principal.key, loose), now)
        return RateLimit(state.limit - slack, max(0, state.remaining - slack), state.reset)

    RateLimiter.hit = hit
