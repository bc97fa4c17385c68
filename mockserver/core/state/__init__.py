"""Where the mock keeps its state: in memory (one process) or in Redis (shared by workers)."""

from mockserver.core.state.base import DEFAULT_REDIS_PREFIX, Quota, StateBackend
from mockserver.core.state.memory import MemoryBackend

__all__ = ["DEFAULT_REDIS_PREFIX", "MemoryBackend", "Quota", "StateBackend", "open_backend"]


def open_backend(
    redis_url: str | None = None, *, prefix: str = DEFAULT_REDIS_PREFIX
) -> StateBackend:
    """In memory without a URL; otherwise Redis, with every key under ``prefix``."""
    if not redis_url:
        return MemoryBackend()
    from mockserver.core.state.redis import RedisBackend

    return RedisBackend(redis_url, prefix=prefix)
