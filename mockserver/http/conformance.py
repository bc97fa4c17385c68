"""Checks a response against openapi.yaml: status documented, body schema, required headers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator

from mockserver.spec import Spec, load_spec


class ResponseChecker:
    def __init__(self, spec: Spec | None = None) -> None:
        self.spec = spec or load_spec()

    @functools.cache  # noqa: B019 — one checker per process, bounded by the spec's responses
    def _response(self, operation_id: str, status: int) -> dict[str, Any] | None:
        _, _, op = self.spec.operation(operation_id)
        node = op["responses"].get(str(status))
        return None if node is None else self.spec.resolve(node)

    @functools.cache  # noqa: B019
    def _body_validator(self, operation_id: str, status: int) -> Draft202012Validator | None:
        schema = self._body_schema(operation_id, status)
        return None if schema is None else self.spec.validator(schema)

    @functools.cache  # noqa: B019
    def _body_is_valid(self, operation_id: str, status: int) -> Callable[[Any], bool]:
        """A compiled yes/no check first (a proxy checks every answer): the slower validator
        runs only to name what is wrong."""
        schema = self._body_schema(operation_id, status)
        if schema is None:
            return lambda body: True
        try:
            return self.spec.fast_validator(schema, formats=True)
        except RecursionError:
            return lambda body: False

    def _body_schema(self, operation_id: str, status: int) -> dict[str, Any] | None:
        response = self._response(operation_id, status)
        media = (response or {}).get("content", {}).get("application/json")
        return None if media is None else media["schema"]

    @functools.cache  # noqa: B019
    def _header_validator(self, operation_id: str, status: int, name: str) -> Draft202012Validator:
        return self.spec.validator(self._header_schema(operation_id, status, name))

    @functools.cache  # noqa: B019
    def _header_is_valid(self, operation_id: str, status: int, name: str) -> Callable[[Any], bool]:
        return self.spec.fast_validator(
            self._header_schema(operation_id, status, name), formats=True
        )

    def _header_schema(self, operation_id: str, status: int, name: str) -> dict[str, Any]:
        node = (self._response(operation_id, status) or {})["headers"][name]
        return self.spec.resolve(node).get("schema", {})

    def violations(
        self, operation_id: str, status: int, headers: Mapping[str, str], body: Any
    ) -> list[str]:
        response = self._response(operation_id, status)
        if response is None:
            return [f"{operation_id}: status {status} is not documented"]
        problems: list[str] = []
        validator = self._body_validator(operation_id, status)
        if validator is not None and not self._body_is_valid(operation_id, status)(body):
            for error in validator.iter_errors(body):
                where = "/".join(map(str, error.absolute_path)) or "(body)"
                problems.append(f"{operation_id} {status} body {where}: {error.message[:200]}")
        allowed = self.spec.error_codes(operation_id, status)
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if allowed and isinstance(code, str) and code not in allowed:
            problems.append(f"{operation_id} {status} body error/code: {code!r} not in {allowed}")
        lowered = {k.lower(): v for k, v in headers.items()}
        for name, node in (response.get("headers") or {}).items():
            header = self.spec.resolve(node)
            value = lowered.get(name.lower())
            if value is None:
                if header.get("required"):
                    problems.append(f"{operation_id} {status}: header {name} is missing")
                continue
            schema = header.get("schema", {})
            candidate: Any = value
            if schema.get("type") == "integer":
                if re.fullmatch(r"-?[0-9]+", value):  # int() would also take " 6", "+6", "6_0"
                    candidate = int(value)
                else:
                    problems.append(
                        f"{operation_id} {status}: header {name}={value!r} is not an integer"
                    )
                    continue
            if self._header_is_valid(operation_id, status, name)(candidate):
                continue
            for error in self._header_validator(operation_id, status, name).iter_errors(candidate):
                problems.append(f"{operation_id} {status}: header {name}: {error.message[:200]}")
        return problems
