"""Where the mock keeps its state: in memory (one process) or in Redis (shared by workers)."""

from mockserver.core.state.base import Quota, StateBackend
from mockserver.core.state.memory import MemoryBackend

__all__ = ["MemoryBackend", "Quota", "StateBackend", "open_backend"]


def open_backend(redis_url: str | None = None) -> StateBackend:
    if not redis_url:
        return MemoryBackend()
    from mockserver.core.state.redis import RedisBackend

    return RedisBackend(redis_url)
