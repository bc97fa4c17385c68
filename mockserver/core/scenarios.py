"""Forced scenarios: failing or stalling jobs, 5xx answers and latency, on demand.

Queued through the control API (``/_mock/scenarios``) or per request with the header
``X-Mock-Scenario``, whose value is a comma-separated list of:

* ``error=500`` (``INTERNAL_ERROR``), ``error=502`` or ``error=503`` (``EXTERNAL_SERVICE_ERROR``);
* ``fail-at-page=K`` — the created job fails when it reaches page K (the cover is page 1);
* ``stall-at-page=K`` — the created job stays ``processing`` at page K forever;
* ``delay-ms=N`` — answer after N milliseconds.

The ranges of the numbers are ``x-mock-scenario-header`` in ``control-api.yaml``; a number out
of its range is a VALIDATION_ERROR naming the parameter, an unknown parameter a BAD_REQUEST.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mockserver.core.books import JobScenario
from mockserver.core.errors import ApiError
from mockserver.core.state.base import StateBackend
from mockserver.core.validation import whole_number
from mockserver.spec import load_control_spec

HEADER = "X-Mock-Scenario"
#: Parameter name → its schema: ``{enum}`` or ``{type: integer, minimum, maximum}``.
PARAMETERS: dict[str, dict[str, Any]] = load_control_spec().document["x-mock-scenario-header"]
MAX_DELAY_MS = PARAMETERS["delay-ms"]["maximum"]
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


def _in_range(schema: dict[str, Any], number: int | None) -> bool:
    if number is None:
        return False
    if "enum" in schema:
        return number in schema["enum"]
    return bool(schema["minimum"] <= number <= schema["maximum"])


def _expected(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "Expected one of: " + ", ".join(map(str, schema["enum"]))
    return f"Expected a whole number from {schema['minimum']} to {schema['maximum']}"


NO_SCENARIO = RequestScenario()


def parse_header(value: str | None) -> RequestScenario:
    if not value:
        return NO_SCENARIO
    numbers: dict[str, int] = {}
    offending: dict[str, str] = {}
    for token in (t.strip() for t in value.split(",")):
        name, _, arg = token.partition("=")
        schema = PARAMETERS.get(name)
        if schema is None:
            raise ApiError("BAD_REQUEST", f"Invalid {HEADER} header: unknown scenario {name!r}.")
        number = whole_number(arg)
        if _in_range(schema, number):
            numbers[name] = number  # type: ignore[assignment]
        else:
            offending[name] = _expected(schema)
    if offending:
        raise ApiError("VALIDATION_ERROR", f"Invalid {HEADER} header.", fields=offending)
    fail_at, stall_at = numbers.get("fail-at-page"), numbers.get("stall-at-page")
    job = JobScenario(fail_at_page=fail_at, stall_at_page=stall_at) if fail_at or stall_at else None
    return RequestScenario(numbers.get("error"), numbers.get("delay-ms", 0), job)


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
