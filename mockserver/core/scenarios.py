"""Forced scenarios: failing or stalling jobs, 5xx answers and latency, on demand.

Queued through the control API (``/_mock/scenarios``) or per request with the header
``X-Mock-Scenario``, whose value is a comma-separated list of:

* ``error=500`` (``INTERNAL_ERROR``), ``error=502`` or ``error=503`` (``EXTERNAL_SERVICE_ERROR``);
* ``fail-at-page=K`` — the created job fails when it reaches page K (the cover is page 1);
* ``stall-at-page=K`` — the created job stays ``processing`` at page K forever;
* ``delay-ms=N`` — answer after N milliseconds (at most 30000).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mockserver.core.books import JobScenario
from mockserver.core.errors import ApiError
from mockserver.core.state.base import StateBackend
from mockserver.core.validation import whole_number

HEADER = "X-Mock-Scenario"
MAX_DELAY_MS = 30_000
FORCED_ERRORS = {
    500: ("INTERNAL_ERROR", "Internal server error (forced by the mock)."),
    502: ("EXTERNAL_SERVICE_ERROR", "An upstream service failed (forced by the mock)."),
    503: ("EXTERNAL_SERVICE_ERROR", "An upstream service is unavailable (forced by the mock)."),
}


@dataclass(frozen=True)
class RequestScenario:
    error_status: int | None = None
    delay_ms: int = 0
    job: JobScenario | None = None


def forced_error(status: int) -> ApiError:
    code, message = FORCED_ERRORS[status]
    return ApiError(code, message, status=status, meta={"forced": True})


def _invalid(reason: str) -> ApiError:
    return ApiError("BAD_REQUEST", f"Invalid {HEADER} header: {reason}.")


def _positive_int(name: str, value: str) -> int:
    number = whole_number(value)
    if number is None or number < 1:
        raise _invalid(f"{name} takes a whole number of at least 1")
    return number


NO_SCENARIO = RequestScenario()


def parse_header(value: str | None) -> RequestScenario:
    if not value:
        return NO_SCENARIO
    error_status, delay_ms, fail_at, stall_at = None, 0, None, None
    for token in (t.strip() for t in value.split(",")):
        name, _, arg = token.partition("=")
        if name == "error":
            if whole_number(arg) not in FORCED_ERRORS:
                raise _invalid("error takes 500, 502 or 503")
            error_status = whole_number(arg)
        elif name == "delay-ms":
            delay_ms = min(MAX_DELAY_MS, _positive_int(name, arg))
        elif name == "fail-at-page":
            fail_at = _positive_int(name, arg)
        elif name == "stall-at-page":
            stall_at = _positive_int(name, arg)
        else:
            raise _invalid(f"unknown scenario {name!r}")
    job = JobScenario(fail_at_page=fail_at, stall_at_page=stall_at) if fail_at or stall_at else None
    return RequestScenario(error_status=error_status, delay_ms=delay_ms, job=job)


def _job_view(job: JobScenario) -> dict[str, Any]:
    return {
        "failAtPage": job.fail_at_page,
        "stallAtPage": job.stall_at_page,
        "errorMessage": job.error_message,
    }


class ScenarioQueue:
    """Scenarios queued by the control API, consumed by the next requests or creates."""

    ERRORS = "scenarios:errors"

    def __init__(self, db: StateBackend) -> None:
        self._db = db

    @staticmethod
    def _jobs_key(user_id: str | None) -> str:
        return f"scenarios:jobs:{user_id or '*'}"

    async def queue_errors(self, status: int, count: int) -> None:
        if status not in FORCED_ERRORS:
            raise ApiError(
                "VALIDATION_ERROR",
                "Unknown forced error.",
                fields={"error": "Expected 500, 502 or 503"},
            )
        await self._db.push(self.ERRORS, *([status] * count))

    async def next_error(self) -> ApiError | None:
        status = await self._db.pop(self.ERRORS)
        return None if status is None else forced_error(int(status))

    async def queue_jobs(self, job: JobScenario, count: int, user_id: str | None) -> None:
        await self._db.push(self._jobs_key(user_id), *([asdict(job)] * count))

    async def next_job(self, user_id: str) -> JobScenario | None:
        for key in (self._jobs_key(user_id), self._jobs_key(None)):
            raw = await self._db.pop(key)
            if raw is not None:
                return JobScenario(**raw)
        return None

    async def pending(self, user_ids: list[str]) -> dict[str, Any]:
        """Queued errors, and queued jobs by user id (``*``: any user's next create)."""
        jobs = {}
        for user_id in [None, *user_ids]:
            queued = await self._db.peek_all(self._jobs_key(user_id))
            if queued:
                jobs[user_id or "*"] = [_job_view(JobScenario(**raw)) for raw in queued]
        return {"errors": await self._db.peek_all(self.ERRORS), "jobs": jobs}

    async def clear(self, user_ids: list[str]) -> None:
        await self._db.delete(self.ERRORS, self._jobs_key(None), *map(self._jobs_key, user_ids))
