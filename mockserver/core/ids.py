"""Random identifiers. ``str(uuid.uuid4())`` costs several microseconds on the hot path, and a
create needs three (request, book, task); the same 122 random bits, formatted directly, cost
a fraction of that. The bits are drawn from the operating system's random source 4 KB at a
time: one system call per 256 UUIDs instead of one per UUID."""

from __future__ import annotations

import os
from collections.abc import Iterator

_CHUNK_BYTES = 16
_CHUNKS_PER_DRAW = 256
#: Random 16-byte chunks drawn but not handed out yet.
_chunks: Iterator[bytes] = iter(())


def _drawn_chunks() -> Iterator[bytes]:
    block = os.urandom(_CHUNK_BYTES * _CHUNKS_PER_DRAW)
    return iter([block[i : i + _CHUNK_BYTES] for i in range(0, len(block), _CHUNK_BYTES)])


def _forget_chunks() -> None:
    global _chunks
    _chunks = iter(())


# A forked worker (``--workers``) must not hand out the ids its parent would.
os.register_at_fork(after_in_child=_forget_chunks)


def _random_chunk() -> bytes:
    """16 random bytes, never handed out twice: ``next`` is one step under the GIL, so threads
    cannot take the same chunk (two that find the pool empty at once each draw a new one)."""
    global _chunks
    chunk = next(_chunks, None)
    if chunk is None:
        _chunks = _drawn_chunks()
        chunk = next(_chunks)
    return chunk


def new_uuid() -> str:
    """A random (version 4, RFC 9562 variant) UUID in its canonical lowercase form."""
    raw = bytearray(_random_chunk())
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_token(length: int = 12) -> str:
    """``length`` random hex digits, for ids such as ``user_…`` and ``key_…``."""
    return os.urandom((length + 1) // 2).hex()[:length]
