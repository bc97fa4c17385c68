"""Hypothesis settings and strategies of the behaviour layer.

Each example is one request to the target, so runs are short: enough to cover the classes of
input a clause names, few enough for a deployment's per-minute limit.
"""

from __future__ import annotations

import os
import string

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from contracts.client import SPEC
from contracts.settings import BASE_URL
from mockserver.core.keys import KEY_PREFIX

EXAMPLES = 12 if not os.environ.get(BASE_URL) else 6

#: No shrinking: each step would be a request against the key's per-minute limit, and the
#: failing example is readable as it is.
behaviour = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
URL_SAFE = string.ascii_letters + string.digits + "-_"
REQUEST_ID_MAX = SPEC.schema("RequestId")["maxLength"]


def echoable_request_ids() -> st.SearchStrategy[str]:
    return st.text(alphabet=VISIBLE_ASCII, min_size=1, max_size=REQUEST_ID_MAX)


def overlong_request_ids() -> st.SearchStrategy[str]:
    return st.text(alphabet=VISIBLE_ASCII, min_size=REQUEST_ID_MAX + 1, max_size=4 * REQUEST_ID_MAX)


def unknown_keys() -> st.SearchStrategy[str]:
    """Well-formed keys no server issued (24+ URL-safe characters after the prefix)."""
    return st.text(alphabet=URL_SAFE, min_size=24, max_size=64).map(KEY_PREFIX.__add__)


def case_variants(value: str) -> list[str]:
    """Spellings of an enum value that differ only by case or surrounding form."""
    variants = {
        value.upper(),
        value.title(),
        value.capitalize(),
        value.swapcase(),
        f" {value}",
        f"{value} ",
        value.replace("_", "-"),
        value.replace("_", " "),
    }
    return sorted(v for v in variants if v != value)


def not_a_uuid() -> st.SearchStrategy[str]:
    """Path segments that are not a UUID (no '/', and not the dot segments URLs normalize)."""
    alphabet = st.characters(
        codec="utf-8", exclude_characters="/\\?#%", exclude_categories=("Cs", "Cc")
    )
    uuid_shaped = SPEC.validator("Uuid")
    return (
        st.text(alphabet=alphabet, min_size=1, max_size=60)
        .filter(lambda s: s.strip(".") != "" and s.strip() == s)
        .filter(lambda s: not uuid_shaped.is_valid(s))
    )
