"""What a broken clause does to the run, under the chosen profile.

``decisions`` (the default against the local mock): every broken clause fails its test.
``page`` (the default against a deployment): a broken ``page`` clause fails its test; a broken
``decision`` clause is a warning — recorded for the summary and the JUnit case, and the test goes
on, so the ``page`` clauses it checks after that point still count.

Shared assertions (``contracts.expect``) report each problem with the clause it breaks; a bare
``assert`` in a test breaks the test's own clause (the conftest hook turns it into a
``ContractViolation``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.clauses import CLAUSES, DECISION, PAGE, Clause, ContractViolation

PROFILES = (PAGE, "decisions")
#: JUnit properties of each test case.
CLAUSE_PROPERTY = "contract_clause"
SOURCE_PROPERTY = "contract_source"
VIOLATION_PROPERTY = "contract_violation"
WARNING_PROPERTY = "contract_warning"
#: Requests the test sent (set-up included): where a deployment's rate-limit budget goes.
REQUESTS_PROPERTY = "contract_requests"
LOCAL_PROFILE = "decisions"
#: Against a deployment only what the vendor page states fails the gate by default: the
#: decisions are this project's reading of gaps, which another team may read differently.
REMOTE_PROFILE = PAGE


@dataclass
class Deviation:
    """A broken decision clause, let through as a warning under ``--profile page``."""

    clause: Clause
    detail: str


@dataclass
class Verdict:
    profile: str = LOCAL_PROFILE
    #: The clause of the test running now (None between tests, and in fixtures).
    current: Clause | None = None
    warnings: list[Deviation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def soft(self, broken: Clause) -> bool:
        """Whether a broken ``clause`` is a warning rather than a failure."""
        return self.profile == PAGE and broken.source == DECISION

    def begin(self, test_clause: Clause | None) -> None:
        with self._lock:
            self.current = test_clause
            self.warnings = []

    def end(self) -> list[Deviation]:
        with self._lock:
            found, self.warnings, self.current = self.warnings, [], None
            return found

    def broken(self, clause_id: str | None, detail: str) -> None:
        """``clause_id`` (None: the running test's clause) is broken: raise its
        ``ContractViolation``, or record a warning and return."""
        found = CLAUSES[clause_id] if clause_id else self.current
        if found is None:
            raise AssertionError(detail)
        if not self.soft(found):
            raise ContractViolation(found, detail)
        with self._lock:
            self.warnings.append(Deviation(found, detail))

    def judge(self, problems: Iterable[tuple[str | None, str]], context: str = "") -> None:
        """Report problems, grouped by clause: the test's own first, then the rest in order.
        Warnings are recorded before the first failure is raised."""
        groups: dict[str | None, list[str]] = {}
        for clause_id, text in problems:
            own = clause_id is None or (self.current and clause_id == self.current.id)
            groups.setdefault(None if own else clause_id, []).append(text)
        ordered = sorted(groups.items(), key=lambda item: item[0] is not None)
        hard = []
        for clause_id, texts in ordered:
            found = CLAUSES[clause_id] if clause_id else self.current
            detail = "; ".join(texts) + (f"\n  exchange: {context}" if context else "")
            if found is not None and self.soft(found):
                self.broken(clause_id, detail)
            else:
                hard.append((clause_id, detail))
        if hard:
            self.broken(*hard[0])


VERDICT = Verdict()
