"""docs/contracts.md lists every contract clause with its source, as contracts/clauses.py has
them: the documentation a team reads before gating on a profile cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from contracts.clauses import CLAUSES

DOC = Path(__file__).resolve().parent.parent / "docs" / "contracts.md"
ROW = re.compile(r"^\| `(?P<id>[a-z0-9.-]+)` \| (?P<source>page|decision) \| (?P<title>.+) \|$")


def test_the_clause_table_is_the_clauses_of_the_code() -> None:
    rows = [m.groupdict() for line in DOC.read_text().splitlines() if (m := ROW.match(line))]
    documented = {row["id"]: (row["source"], row["title"]) for row in rows}
    assert documented == {c.id: (c.source, c.title) for c in CLAUSES.values()}
