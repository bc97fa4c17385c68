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


class _Pattern(NamedTuple, Generic[H]):
    literals: tuple[tuple[int, str], ...]  # positions and values of the literal segments
    params: tuple[tuple[int, str], ...]  # positions and names of the parameters
    operations: dict[str, Operation[H]]

    def match(self, segments: Sequence[str]) -> Match[H] | None:
        for index, literal in self.literals:
            if segments[index] != literal:
                return None
        params = {}
        for index, name in self.params:
            params[name] = segments[index]
        return Match(self.operations, params)


class Router(Generic[H]):
    def __init__(self) -> None:
        #: Patterns by (number of segments, first segment, or None when that is a parameter).
        self._patterns: dict[tuple[int, str | None], list[_Pattern[H]]] = {}

    def add(self, path: str, operations: Mapping[str, Operation[H]]) -> None:
        segments = path.split("/")[1:]
        pattern = _Pattern(
            tuple((i, s) for i, s in enumerate(segments) if not _is_param(s)),
            tuple((i, s[1:-1]) for i, s in enumerate(segments) if _is_param(s)),
            dict(operations),
        )
        first = None if _is_param(segments[0]) else segments[0]
        self._patterns.setdefault((len(segments), first), []).append(pattern)

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
        """The operations of the first declared path ``segments`` match (in declaration
        order; a path with a literal first segment before one starting with a parameter)."""
        if not segments:
            return None
        count = len(segments)
        for key in ((count, segments[0]), (count, None)):
            for pattern in self._patterns.get(key, ()):
                found = pattern.match(segments)
                if found is not None:
                    return found
        return None


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")
