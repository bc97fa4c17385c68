"""Locust entry point: ``locust -f loadtests/locustfile.py`` (``make load`` drives it).

Users: PollerUser, CreatorUser (shared keys), BurstUser and AuditorUser (one exclusive key
each); every answer is read by the rate-limit auditor. Options of our own: ``--keys-file``
(required), ``--load-shape constant|step|spike``, ``--aligned-windows`` (the target's windows
share one clock-aligned grid, as the mock's do), ``--max-error-ratio``, ``--max-p95-ms`` and
``--verdict-file``. The exit code is 1 when the verdict fails.
"""

from __future__ import annotations

import logging

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests import session, verdict
from loadtests.profiles import PROFILES
from loadtests.shapes import LoadProfile
from loadtests.users import AuditorUser, BurstUser, CreatorUser, PollerUser

__all__ = ["AuditorUser", "BurstUser", "CreatorUser", "LoadProfile", "PollerUser"]
log = logging.getLogger("loadtests")


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    group = parser.add_argument_group("ChildrenBooks load test")
    group.add_argument("--keys-file", help="JSON keys file (see loadtests/keys.py)")
    group.add_argument("--load-shape", choices=PROFILES, default="constant")
    group.add_argument(
        "--aligned-windows", action="store_true", help="check one clock-aligned window grid"
    )
    group.add_argument("--max-error-ratio", type=float, default=verdict.Thresholds.max_error_ratio)
    group.add_argument("--max-p95-ms", type=float, default=verdict.Thresholds.max_p95_ms)
    group.add_argument("--verdict-file", help="write the verdict (JSON) here")


@events.test_start.add_listener
def _start(environment: Environment, **_) -> None:
    session.current.start(environment)


@events.test_stop.add_listener
def _stop(environment: Environment, **_) -> None:
    session.current.stop()


@events.report_to_master.add_listener
def _report(client_id: str, data: dict, **_) -> None:
    data[session.REPORT_KEY] = session.current.auditor.summary()


@events.worker_report.add_listener
def _collect(client_id: str, data: dict, **_) -> None:
    if session.REPORT_KEY in data:
        session.current.worker_summaries[client_id] = data[session.REPORT_KEY]


@events.quitting.add_listener
def _judge(environment: Environment, **_) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    options = environment.parsed_options
    assert options is not None, "locust parses its options before the test starts"
    thresholds = verdict.Thresholds(options.max_error_ratio, options.max_p95_ms)
    result = verdict.evaluate(environment.stats.total, session.current.audit_summary(), thresholds)
    if options.verdict_file:
        verdict.write(result, options.verdict_file)
    log.info("%s", verdict.describe(result))
    environment.process_exit_code = 0 if result["passed"] else 1
