"""The documents the toolkit is built from are vendored verbatim into docs/: each copy is
byte-identical to its upstream in the project's shared workspace, whenever that is present."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: The project's shared workspace, next to the checkout; absent in a plain clone.
SHARED = ROOT.parent / "shared"
PAGE = "reference/childrenbooks-developer-api-v1.txt"
#: Copy under ``docs/`` → its upstream under ``SHARED``.
VENDORED = {PAGE: PAGE, "decisions.md": "api-decisions.md"}


@pytest.mark.parametrize(("copy", "upstream"), VENDORED.items(), ids=list(VENDORED))
def test_vendored_document_is_identical_to_its_upstream(copy: str, upstream: str) -> None:
    source = SHARED / upstream
    if not source.exists():
        pytest.skip(f"no upstream at {source} (it exists only in the project's workspace)")
    assert (DOCS / copy).read_bytes() == source.read_bytes(), f"docs/{copy} differs from {source}"
