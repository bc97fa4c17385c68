"""Random identifiers. ``str(uuid.uuid4())`` costs several microseconds on the hot path, and a
create needs three (request, book, task); the same 122 random bits, formatted directly, cost
a fraction of that. The bits come from the operating system's random source a few kilobytes
at a time: one system call per few hundred ids instead of one per id."""

from __future__ import annotations

import os

_POOL_BYTES = 4096
#: Random bytes drawn but not yet used, consumed from the end.
_pool = bytearray()
# A forked worker (``--workers``) must not hand out the ids its parent would.
os.register_at_fork(after_in_child=_pool.clear)


def _random_bytes(count: int) -> bytearray:
    if len(_pool) < count:
        _pool[:] = os.urandom(_POOL_BYTES)
    drawn = _pool[-count:]
    del _pool[-count:]
    return drawn


def new_uuid() -> str:
    """A random (version 4, RFC 9562 variant) UUID in its canonical lowercase form."""
    raw = _random_bytes(16)
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_token(length: int = 12) -> str:
    """``length`` random hex digits, for ids such as ``user_…`` and ``key_…``."""
    return _random_bytes((length + 1) // 2).hex()[:length]
