"""API keys: issued once, stored as SHA-256 digests, compared in constant time, never logged."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from mockserver.spec import load_spec

KEY_PREFIX = load_spec().api_key_prefix
_KEY_SHAPE = re.compile(load_spec().api_key_pattern)
_ANY_KEY_SHAPE = re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]+"
_ANY_KEY = re.compile(_ANY_KEY_SHAPE)
_ANY_KEY_BYTES = re.compile(_ANY_KEY_SHAPE.encode())
_MASKED_PREFIX = f"{KEY_PREFIX}…".encode()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def dev_key(name: str) -> str:
    """The fixed, documented key of a dev user (so README curl examples work by copy-paste)."""
    return f"{KEY_PREFIX}{name}_dev_key_".ljust(len(KEY_PREFIX) + 32, "0")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def well_formed(key: str) -> bool:
    return _KEY_SHAPE.fullmatch(key) is not None


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def mask(text: str) -> str:
    """Replace anything shaped like a key by its prefix and last four characters."""
    return _ANY_KEY.sub(lambda m: f"{KEY_PREFIX}…{m.group(0)[-4:]}", text)


def mask_bytes(data: bytes) -> bytes:
    """``mask`` for UTF-8 text (a whole encoded document in one pass)."""
    return _ANY_KEY_BYTES.sub(lambda m: _MASKED_PREFIX + m.group(0)[-4:], data)


def is_key_shaped(text: str) -> bool:
    """Anything ``mask`` would mask, whole."""
    return _ANY_KEY.fullmatch(text) is not None
