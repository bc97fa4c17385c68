"""Errors are values: raised in the core with a spec code, rendered once by the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.spec import load_spec


class ApiError(Exception):
    """An error response with a code from the spec's ``ErrorCode`` enum."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        fields: Mapping[str, str] | None = None,
        meta: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        statuses = load_spec().error_status
        if code not in statuses:
            raise ValueError(f"{code!r} is not an error code of the spec")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status or statuses[code]
        self.fields = dict(fields) if fields else None
        self.meta = dict(meta) if meta else None
        self.headers = dict(headers or {})

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        if self.meta:
            error["meta"] = self.meta
        return error


class BackendUnavailable(Exception):
    """The state backend (Redis) cannot be reached; callers decide whether to fail open."""
