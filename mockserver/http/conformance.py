"""Checks a response against openapi.yaml: status documented, body schema, required headers."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
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
        response = self._response(operation_id, status)
        media = (response or {}).get("content", {}).get("application/json")
        return None if media is None else self.spec.validator(media["schema"])

    def violations(
        self, operation_id: str, status: int, headers: Mapping[str, str], body: Any
    ) -> list[str]:
        response = self._response(operation_id, status)
        if response is None:
            return [f"{operation_id}: status {status} is not documented"]
        problems: list[str] = []
        validator = self._body_validator(operation_id, status)
        if validator is not None:
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
            for error in self.spec.validator(schema).iter_errors(candidate):
                problems.append(f"{operation_id} {status}: header {name}: {error.message[:200]}")
        return problems
