"""Small, real PNG illustrations, distinct per book and page, for clients that download them."""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib

SIZE = 64


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.lru_cache(maxsize=1024)
def illustration(book_id: str, name: str) -> bytes:
    """A 64×64 RGB PNG: two colours and a stripe pattern derived from the book and page."""
    seed = hashlib.sha256(f"{book_id}/{name}".encode()).digest()
    fg, bg, period = seed[0:3], seed[3:6], 4 + seed[6] % 12
    rows = bytearray()
    for y in range(SIZE):
        rows.append(0)  # filter type: none
        for x in range(SIZE):
            rows += fg if ((x + y) // period) % 2 else bg
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )
