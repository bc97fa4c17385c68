"""Everything the validating proxy does with an exchange, I/O aside: the checks of the current
session, the report, ``--strict`` answers, recordings, and following a cbk-mock upstream.

In front of a cbk-mock, control calls sent through the proxy (``/_mock/…``) reach the mock and
the proxy follows them: a clock move moves the proxy's clock with the mock's (on a manual clock,
only those move it), so rate-limit windows and recorded gaps keep to the mock's time; a reset
ends the session — its checks are judged, its recording written — and starts a fresh one.
A real deployment has no ``/_mock/``: its sessions last as long as the proxy runs.

Under ``profile="page"`` a broken decision clause is a warning, as in ``cbk-contracts --profile
page``: reported, logged and listed, but not counted as a violation, not a ``--strict`` 502 and
not a JUnit failure.
"""

from __future__ import annotations

import json
import logging
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mockserver.clause_ids import DECISIONS_PROFILE, PROFILES, ClauseId, warns_only
from mockserver.core.clock import isoformat, parse_iso
from mockserver.core.errors import ApiError
from mockserver.core.ids import new_uuid
from mockserver.http.messages import JSON_TYPE, Headers, HttpReply, HttpRequest, error_envelope
from mockserver.proxy.checks import (
    REQUEST_ID,
    REQUEST_ID_HEADER,
    ExchangeChecks,
    Pending,
    Violation,
    redact,
)
from mockserver.proxy.recording import Recorder, SessionRecording, capture

log = logging.getLogger("mockserver.proxy")
#: The report lists this many violations; beyond, they are only counted.
MAX_LISTED = 1000
SWEEP_SECONDS = 5.0
#: The JUnit property naming a warning: the one ``cbk-contracts`` writes (a test checks it).
WARNING_PROPERTY = "contract_warning"
CONTROL_PREFIX = "/_mock/"


class SessionClock:
    """Seconds since the proxy started, as the upstream's clock would count them: the proxy's
    monotonic clock plus every clock move of a cbk-mock upstream seen; once the upstream is
    known to run a manual clock, only those moves."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._start = monotonic()
        self._frozen_at: float | None = None
        self._moved = 0.0
        #: The upstream's last reported time, and ours when it reported it.
        self._reported: tuple[float, float] | None = None

    def __call__(self) -> float:
        real = self._frozen_at if self._frozen_at is not None else self._monotonic() - self._start
        return real + self._moved

    @property
    def manual(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> None:
        """The upstream's clock stands still unless moved."""
        if self._frozen_at is None:
            self._frozen_at = self._monotonic() - self._start

    def advanced(self, seconds: float, upstream_now: float) -> None:
        self._moved += max(0.0, seconds)
        self._reported = (upstream_now, self())

    def reported(self, upstream_now: float) -> None:
        """The upstream said what time it is (``GET /_mock/clock``, ``clock/set``)."""
        if self._reported is not None:
            then, ours = self._reported
            self._moved += max(0.0, (upstream_now - then) - (self() - ours))
        self._reported = (upstream_now, self())

    def upstream_reset(self) -> None:
        self._reported = None


@dataclass
class Flight:
    """One exchange between ``begin`` and ``finish``, tied to the session it began in."""

    pending: Pending
    session: Session


class Session:
    """From the proxy's start, or a mock's reset, to the next reset or the proxy's end."""

    def __init__(
        self, checks: ExchangeChecks, recording: SessionRecording | None, started: float
    ) -> None:
        self.checks = checks
        self.recording = recording
        self.started = started
        self.last_sweep = started


class Inspector:
    def __init__(
        self,
        upstream: str,
        *,
        strict: bool = False,
        profile: str = DECISIONS_PROFILE,
        shared_keys: bool = False,
        recorder: Recorder | None = None,
        clock: SessionClock | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        self.upstream = upstream
        self.strict = strict
        self.profile = profile
        self.shared_keys = shared_keys
        self.recorder = recorder
        self.clock = clock or SessionClock()
        self._wall = wall_clock
        self.started_at = isoformat(wall_clock())
        self.exchanges = 0
        self.upstream_errors = 0
        self.sessions = 0
        self.listed: list[Violation] = []
        #: Broken clauses that fail the run, and those that only warn under the profile.
        self.counts: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self._session = self._new_session(fresh=False)

    # --- exchanges -----------------------------------------------------------------------
    def begin(self, request: HttpRequest) -> Flight:
        return Flight(self._session.checks.begin(request), self._session)

    def lost(self, flight: Flight, reason: str) -> HttpReply:
        """The upstream gave no answer: the client gets a 502 envelope (not a violation)."""
        flight.session.checks.lost(flight.pending)
        self.upstream_errors += 1
        log.warning("upstream unreachable for %s %s: %s", *_where(flight), redact(reason))
        message = f"The proxy got no answer from the upstream: {redact(reason)}"
        error = ApiError("EXTERNAL_SERVICE_ERROR", message, status=502)
        return _envelope_reply(error, _request_id(flight.pending.request))

    def finish(self, flight: Flight, reply: HttpReply) -> HttpReply:
        """Judge the answer, record it; returns what the client gets (the upstream's answer,
        or in ``strict`` mode a 502 listing the violations)."""
        pending, session = flight.pending, flight.session
        violations = self._report(session.checks.finish(pending, reply))
        if pending.route is not None:
            self.exchanges += 1
            if session.recording is not None:
                at = pending.sent - session.started
                session.recording.add(
                    capture(at, pending.request, reply, pending.secret), pending.key, reply
                )
                if session.recording.full:
                    self._write(session)
                    session.recording = self.recorder.session() if self.recorder else None
        if self.clock() - session.last_sweep >= SWEEP_SECONDS:
            session.last_sweep = self.clock()
            self._report(session.checks.sweep())
        if pending.request.path.startswith(CONTROL_PREFIX):
            self._follow(pending.request, reply)
        failing = [violation for violation in violations if not violation.warning]
        if self.strict and failing:
            return self._strict(reply, failing)
        return reply

    # --- following a cbk-mock ------------------------------------------------------------
    def upstream_health(self, reply: HttpReply) -> bool:
        """The answer to ``GET /_mock/health``: True when the upstream is a cbk-mock, whose
        manual clock (if it has one) the proxy then keeps to."""
        data = _data(reply)
        if not isinstance(data, dict) or "clock" not in data:
            return False
        if data["clock"] == "manual":
            self.clock.freeze()
        return True

    def _follow(self, request: HttpRequest, reply: HttpReply) -> None:
        data = _data(reply)
        if reply.status != 200 or not isinstance(data, dict):
            return
        path = request.path.removeprefix(CONTROL_PREFIX).rstrip("/")
        if path == "reset" and request.method == "POST":
            self.clock.upstream_reset()
            self.end_session()
            self._session = self._new_session(fresh=True)
            return
        if not isinstance(data.get("now"), str) or not path.startswith("clock"):
            return
        if data.get("mode") == "manual":
            self.clock.freeze()
        upstream_now = parse_iso(data["now"])
        if path == "clock/advance":
            try:
                seconds = float(json.loads(request.body)["seconds"])
            except (ValueError, KeyError, TypeError):
                seconds = 0.0
            self.clock.advanced(seconds, upstream_now)
        else:
            self.clock.reported(upstream_now)

    # --- sessions ------------------------------------------------------------------------
    def _new_session(self, *, fresh: bool) -> Session:
        self.sessions += 1
        checks = ExchangeChecks(clock=self.clock, fresh=fresh, shared_keys=self.shared_keys)
        recording = self.recorder.session() if self.recorder else None
        return Session(checks, recording, self.clock())

    def end_session(self) -> None:
        """Judge what only the end of a session shows and write its recording."""
        self._report(self._session.checks.close())
        self._write(self._session)

    def _write(self, session: Session) -> None:
        if self.recorder is not None and session.recording is not None:
            path = self.recorder.write(session.recording)
            if path is not None:
                log.info("recorded %d exchanges in %s", len(session.recording.captures), path)
            session.recording = None

    # --- reporting -----------------------------------------------------------------------
    def _report(self, violations: list[Violation]) -> list[Violation]:
        """Count, list and log ``violations``; returns them stamped with time and warning."""
        at = isoformat(self._wall())
        stamped_all = []
        for violation in violations:
            warning = warns_only(violation.clause, self.profile)
            stamped = replace(violation, at=at, warning=warning)
            stamped_all.append(stamped)
            (self.warnings if warning else self.counts)[stamped.clause] += 1
            if len(self.listed) < MAX_LISTED:
                self.listed.append(stamped)
            log.warning(
                "%s %s: %s %s → %s: %s",
                "warning (decision clause, --profile page)" if warning else "violation",
                stamped.clause,
                stamped.method or "-",
                stamped.path or "-",
                stamped.status if stamped.status is not None else "-",
                stamped.message,
            )
        return stamped_all

    @property
    def violation_count(self) -> int:
        """Broken clauses that fail the run (warnings aside)."""
        return sum(self.counts.values())

    @property
    def warning_count(self) -> int:
        return sum(self.warnings.values())

    def report(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream,
            "profile": self.profile,
            "startedAt": self.started_at,
            "sessions": self.sessions,
            "exchanges": self.exchanges,
            "upstreamErrors": self.upstream_errors,
            "violationCounts": dict(sorted(self.counts.items())),
            "warningCounts": dict(sorted(self.warnings.items())),
            "violationsNotListed": max(
                0, self.violation_count + self.warning_count - len(self.listed)
            ),
            "violations": [v.as_json() for v in self.listed],
        }

    def junit(self) -> str:
        """JUnit XML: one test case per clause the proxy judges, failed by its violations.

        A clause that only warned is a passed case with a ``contract_warning`` property and the
        warnings as its system-out, as ``cbk-contracts --profile page`` reports them. Not
        ``skipped``: JUnit consumers show a skip as "not run", and the clause was judged; a
        passed case's properties and output count as no failure anywhere, yet are shown.
        """
        suite = ElementTree.Element(
            "testsuite",
            name="cbk-mock proxy",
            tests=str(len(ClauseId)),
            failures=str(sum(1 for clause in ClauseId if self.counts[clause])),
            errors="0",
            timestamp=self.started_at,
        )
        for clause in ClauseId:
            case = ElementTree.SubElement(suite, "testcase", classname="proxy", name=clause.value)
            if self.counts[clause]:
                failure = ElementTree.SubElement(
                    case, "failure", message=f"{self.counts[clause]} violation(s) of {clause.value}"
                )
                failure.text = self._listed_lines(clause)
            elif self.warnings[clause]:
                properties = ElementTree.SubElement(case, "properties")
                ElementTree.SubElement(
                    properties,
                    "property",
                    name=WARNING_PROPERTY,
                    value=f"[{clause.value}] {self.warnings[clause]} violation(s) of a decision "
                    "clause, a warning under --profile page",
                )
                ElementTree.SubElement(case, "system-out").text = self._listed_lines(clause)
        ElementTree.indent(suite)
        return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"

    def _listed_lines(self, clause: str) -> str:
        return "\n".join(
            f"{v.at} {v.method or '-'} {v.path or '-'} → {v.status}: {v.message}"
            for v in self.listed
            if v.clause == clause
        )

    # --- strict --------------------------------------------------------------------------
    @staticmethod
    def _strict(reply: HttpReply, violations: list[Violation]) -> HttpReply:
        error = ApiError(
            "EXTERNAL_SERVICE_ERROR",
            "The upstream's answer broke the API contract (cbk-mock proxy --strict).",
            status=502,
            meta={
                "upstreamStatus": reply.status,
                "violations": [{"clause": v.clause, "message": v.message} for v in violations],
            },
        )
        headers = {name.lower(): value for name, value in reply.headers.items()}
        upstream_id = headers.get(REQUEST_ID_HEADER.lower(), "")
        return _envelope_reply(
            error, upstream_id if REQUEST_ID.fullmatch(upstream_id) else new_uuid()
        )


def _envelope_reply(error: ApiError, request_id: str) -> HttpReply:
    headers = {"content-type": JSON_TYPE, REQUEST_ID_HEADER: request_id}
    return HttpReply(error.status, headers, error_envelope(request_id, error))


def _request_id(request: HttpRequest) -> str:
    """The client's request id when it may be echoed, else a new one (as the API does)."""
    sent = Headers(request.headers).get_all(REQUEST_ID_HEADER)
    return sent[0] if len(sent) == 1 and REQUEST_ID.fullmatch(sent[0]) else new_uuid()


def _data(reply: HttpReply) -> Any:
    try:
        body = json.loads(reply.body)
    except ValueError:
        return None
    return body.get("data") if isinstance(body, dict) else None


def _where(flight: Flight) -> tuple[str, str]:
    return flight.pending.request.method, flight.pending.request.path
