"""Switching one behaviour of the mock at start-up, for the contract suite's self-tests: a
mutant breaks a clause, a variant (``tests.variants``) behaves differently in a way the page
allows. Test-only: nothing under ``mockserver/`` knows about either.

A patch replaces a method or function of the mock's core or HTTP layer through ``replace``,
which refuses a replacement whose parameters differ from the original's (names, kinds,
defaults): such a patch would raise ``TypeError`` on every call, and the suite would "catch"
the 500 instead of the bug it was written to show.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

#: A file the launched mock appends every ERROR log record to (unhandled errors included).
ERROR_LOG = "CBK_MOCK_ERROR_LOG"
#: Seconds per page of the launched mock's jobs, over what the suite configures: a fast job
#: clock keeps fifty self-test runs short.
PAGE_SECONDS = "CBK_MOCK_PAGE_SECONDS"
_LOGGERS = ("mockserver", "aiohttp", "asyncio")


class SignatureMismatch(TypeError):
    """A patch does not take the parameters of what it replaces."""


def _shape(function: Callable[..., Any]) -> list[tuple[str, Any, bool]]:
    return [
        (p.name, p.kind, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(function).parameters.values()
    ]


def replace(owner: Any, name: str, replacement: Callable[..., Any]) -> Callable[..., Any]:
    """Put ``replacement`` in place of ``owner.name`` (a class's method, static method or a
    module's function) and return the original, after checking their signatures match."""
    original = inspect.getattr_static(owner, name)
    wrap: Callable[[Any], Any] | None = None
    function = original
    if isinstance(original, staticmethod | classmethod):
        wrap, function = type(original), original.__func__
    if not callable(function):
        raise SignatureMismatch(f"{owner.__name__}.{name} is not a function")
    if _shape(replacement) != _shape(function):
        raise SignatureMismatch(
            f"the patch of {owner.__name__}.{name} takes "
            f"{inspect.signature(replacement)}, the original takes {inspect.signature(function)}"
        )
    setattr(owner, name, wrap(replacement) if wrap else replacement)
    return function


def _log_errors_to(path: str) -> None:
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(logging.ERROR)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    for name in _LOGGERS:
        logging.getLogger(name).addHandler(handler)


def launch(kind: str, patches: Mapping[str, Any], argv: list[str]) -> int:
    """``python -m tests.<kind> NAME [cbk-mock arguments]``: apply one patch, run the mock."""
    from mockserver.serve.cli import main

    if not argv or argv[0] not in patches:
        known = ", ".join(sorted(patches))
        raise SystemExit(f"usage: python -m tests.{kind} NAME serve [...]; known: {known}")
    name, *rest = argv
    if os.environ.get(PAGE_SECONDS) and rest[:1] == ["serve"]:
        rest += ["--page-seconds", os.environ[PAGE_SECONDS]]
    patches[name].apply()
    if os.environ.get(ERROR_LOG):
        _log_errors_to(os.environ[ERROR_LOG])
    return main(rest)


def main(kind: str, patches: Mapping[str, Any]) -> None:
    sys.exit(launch(kind, patches, sys.argv[1:]))
