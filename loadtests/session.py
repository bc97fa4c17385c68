"""What one load process shares between its simulated users: its slice of the keys and the
auditor that reads every response. Workers send their audit to the master, which merges them."""

from __future__ import annotations

from typing import Any

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.keys import KeyPool, load_keys
from mockserver.http.ratelimit_audit import KeyViolation, RateLimitAuditor, merge_summaries

REPORT_KEY = "cbk_audit"
SWEEP_SECONDS = 2.0


class RateLimitClauseBroken(Exception):
    """How locust records a broken clause: as a failure whose text is the clause id and the
    check (``limits.decreasing: x-ratelimit-remaining did not drop by one``)."""


class Session:
    def __init__(self) -> None:
        self.environment: Environment | None = None
        self.pool: KeyPool | None = None
        self.auditor = RateLimitAuditor()
        self.worker_summaries: dict[str, dict[str, Any]] = {}
        self._sweeper: gevent.Greenlet | None = None

    def start(self, environment: Environment) -> None:
        """Load this process's keys (a distributed run splits them by worker index)."""
        self.environment = environment
        options = environment.parsed_options
        assert options is not None, "locust parses its options before the test starts"
        if isinstance(environment.runner, MasterRunner) or not options.keys_file:
            return
        keys = load_keys(options.keys_file)
        index, count = 0, 1
        if isinstance(environment.runner, WorkerRunner):
            index, count = max(0, environment.runner.worker_index), options.expect_workers or 1
        self.pool = KeyPool(keys, index, count)
        self.auditor = RateLimitAuditor(fresh=keys.fresh, aligned=options.aligned_windows)
        self._sweeper = gevent.spawn(self._sweep)

    def stop(self) -> None:
        """Close every window still open and report what that finds."""
        if self._sweeper is not None:
            self._sweeper.kill(block=False)
            self._sweeper = None
        self._report(self.auditor.close())

    def _sweep(self) -> None:
        while True:
            gevent.sleep(SWEEP_SECONDS)
            self._report(self.auditor.sweep())

    def _report(self, violations: list[KeyViolation]) -> None:
        """A window's violation belongs to no single request: it is logged as one of its own."""
        if self.environment is None:
            return
        for violation in violations:
            self.environment.events.request.fire(
                request_type="AUDIT",
                name="rate-limit windows",
                response_time=0,
                response_length=0,
                exception=RateLimitClauseBroken(violation.name),
                context={},
            )

    def audit_summary(self) -> dict[str, Any]:
        """This process's audit, merged with what the workers reported."""
        return merge_summaries([self.auditor.summary(), *self.worker_summaries.values()])


current = Session()
