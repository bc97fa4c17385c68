"""API keys: issued once, stored as SHA-256 digests, compared in constant time, never logged."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from mockserver.spec import load_spec

KEY_PREFIX = load_spec().api_key_prefix
_KEY_SHAPE = re.compile(load_spec().api_key_pattern)
#: How a character of a key may be written in a log line: as itself, percent-encoded (also
#: again and again: ``%255F``), or as a ``\x5f`` or ``\u005f`` escape (a ``repr``, JSON).
_ESCAPE = r"(?:%(?:25)*|\\x|\\u00)"
#: The hex codes of the characters of a key's body: ``-``, digits, letters and ``_``.
_BODY_HEX = r"(?:2[dD]|3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])"


def _written(char: str) -> str:
    code = f"{ord(char):02x}"
    return f"(?:{re.escape(char)}|{_ESCAPE}(?:{code}|{code.upper()}))"


_ANY_KEY = re.compile(
    "".join(map(_written, KEY_PREFIX)) + rf"(?:[A-Za-z0-9_-]|{_ESCAPE}{_BODY_HEX})+"
)
_ESCAPED = re.compile(_ESCAPE + r"([0-9a-fA-F]{2})")
_ANY_KEY_BYTES = re.compile(_ANY_KEY.pattern.encode())
#: Where a key can start, found with literal-led searches far cheaper than ``_ANY_KEY`` over a
#: long document: the prefix as written, followed by a body character or an escape; or any
#: prefix character escaped. A document with neither holds no key however it is written.
_PLAIN_START = re.compile(re.escape(KEY_PREFIX).encode() + rb"(?:[A-Za-z0-9_-]|%|\\)")
_ESCAPED_PREFIX_CHAR = re.compile(
    _ESCAPE.encode()
    + b"(?:"
    + b"|".join(
        sorted(
            {f"{ord(c):02x}".encode() for c in KEY_PREFIX}
            | {f"{ord(c):02X}".encode() for c in KEY_PREFIX}
        )
    )
    + b")"
)


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


def _masked_text(written: str) -> str:
    key = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), written)
    return f"{KEY_PREFIX}…{key[-4:]}"


def _masked(match: re.Match[str]) -> str:
    return _masked_text(match.group(0))


def mask(text: str) -> str:
    """Replace anything shaped like a key, however it is written (see ``_ESCAPE``), by its
    prefix and its last four characters."""
    return _ANY_KEY.sub(_masked, text)


def mask_bytes(data: bytes) -> bytes:
    """``mask`` for UTF-8 text (a whole encoded document in one pass)."""
    if _PLAIN_START.search(data) is None and not (
        (b"%" in data or b"\\x" in data or b"\\u00" in data)
        and _ESCAPED_PREFIX_CHAR.search(data) is not None
    ):
        return data
    return _ANY_KEY_BYTES.sub(lambda m: _masked_text(m.group(0).decode()).encode(), data)


def is_key_shaped(text: str) -> bool:
    """Anything ``mask`` would mask, whole."""
    return _ANY_KEY.fullmatch(text) is not None
