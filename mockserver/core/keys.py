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


def masked_key(key: str) -> str:
    """How a key is shown: its prefix and its last four characters."""
    return f"{KEY_PREFIX}…{key[-4:]}"


def _masked_text(written: str) -> str:
    return masked_key(_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), written))


def _masked(match: re.Match[str]) -> str:
    return _masked_text(match.group(0))


def could_hold_key(text: str) -> bool:
    """Whether ``mask`` could change ``text``, found with three substring scans: a key is
    written with its prefix as is, or with at least one character escaped (``%``, ``\\``)."""
    return KEY_PREFIX in text or "%" in text or "\\" in text


def mask(text: str) -> str:
    """Replace anything shaped like a key, however it is written (see ``_ESCAPE``), by its
    prefix and its last four characters."""
    return _ANY_KEY.sub(_masked, text) if could_hold_key(text) else text


def is_key_shaped(text: str) -> bool:
    """Anything ``mask`` would mask, whole."""
    return _ANY_KEY.fullmatch(text) is not None
