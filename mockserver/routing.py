"""Routing read from the OpenAPI documents' own ``paths`` (openapi.yaml, control-api.yaml), so the
mock serves exactly the paths and methods its contracts declare, and ``Allow`` lists exactly
those methods."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

H = TypeVar("H")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class Operation(NamedTuple, Generic[H]):
    #: The operationId, when the response is to be checked against openapi.yaml.
    checked_as: str | None
    handler: H


class Match(NamedTuple, Generic[H]):
    operations: dict[str, Operation[H]]  # by method
    params: dict[str, str]  # path parameters, percent-decoded


class Router(Generic[H]):
    def __init__(self) -> None:
        #: Routes by number of segments; a segment is a literal, or a parameter's name in braces.
        self._routes: dict[int, list[tuple[tuple[str, ...], dict[str, Operation[H]]]]] = {}

    def add(self, path: str, operations: Mapping[str, Operation[H]]) -> None:
        segments = tuple(path.split("/")[1:])
        self._routes.setdefault(len(segments), []).append((segments, dict(operations)))

    def add_paths(
        self, document: Mapping[str, Any], handler_for: Callable[[str], H], *, checked: bool
    ) -> None:
        """Every operation in ``document["paths"]``, its handler found by operationId."""
        for path, item in document["paths"].items():
            operations = {
                method.upper(): Operation(
                    op["operationId"] if checked else None, handler_for(op["operationId"])
                )
                for method, op in item.items()
                if method in _HTTP_METHODS
            }
            self.add(path, operations)

    def match(self, segments: Sequence[str]) -> Match[H] | None:
        for pattern, operations in self._routes.get(len(segments), ()):
            params = {}
            for expected, actual in zip(pattern, segments, strict=True):
                if expected[:1] == "{":
                    params[expected[1:-1]] = actual
                elif expected != actual:
                    break
            else:
                return Match(operations, params)
        return None
