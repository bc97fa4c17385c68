"""The contract, loaded once from ``openapi.yaml``.

Enums, limits, error statuses and schemas are read from here so that no rule is typed twice.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:childrenbooks:openapi"
#: ``api-decisions.md``: "Monthly credits (1 per page, cover included)" when the spec names none.
DEFAULT_CREDITS_PER_PAGE = 1


def spec_path() -> Path:
    """The installed copy (wheel) or the repository's own file (editable install)."""
    packaged = resources.files("mockserver").joinpath("openapi.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "openapi.yaml"


@dataclass(frozen=True)
class Plan:
    name: str
    api_access: bool
    requests_per_minute: int
    books_per_day: int
    monthly_credits: int

    @classmethod
    def from_spec(cls, name: str, raw: dict[str, Any]) -> Plan:
        return cls(
            name=name,
            api_access=bool(raw["apiAccess"]),
            requests_per_minute=int(raw["requestsPerMinute"]),
            books_per_day=int(raw["booksPerDay"]),
            monthly_credits=int(raw["monthlyCredits"]),
        )


class RateLimitHeaders(NamedTuple):
    """The names of the per-minute limit's response headers."""

    limit: str
    remaining: str
    reset: str


@dataclass(frozen=True)
class CreditRule:
    """What accepting one call of an operation costs, from its ``x-cbk-credits`` extension
    (``perAcceptance: pageCount * creditsPerPage``): the product of ``body_fields`` of the
    request body and ``multiplier`` (the named ``x-cbk`` rules), charged on ``accepted_status``
    unless the answer is a replay."""

    operation_id: str
    method: str
    path: str
    accepted_status: int
    body_fields: tuple[str, ...]
    multiplier: int
    #: Each body field's schema ``maximum``: what a value that is no positive number costs.
    field_maxima: tuple[int, ...] = ()

    def cost(self, body: Any) -> int:
        """What accepting ``body`` costs. A field that is not a positive number counts at its
        maximum: a lenient server may book it anyway."""
        credits = self.multiplier
        for name, most in zip(self.body_fields, self.field_maxima, strict=True):
            value = body.get(name) if isinstance(body, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                credits *= int(value)
            else:
                credits *= most
        return credits


class Spec:
    """Read-only view of the OpenAPI document with the lookups the toolkit needs."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # control-api.yaml is loaded through this class too and has no x-cbk rules.
        self.rules: dict[str, Any] = document.get("x-cbk", {})
        resource: Resource[Any] = DRAFT202012.create_resource(document)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)

    @classmethod
    def load(cls, path: Path | None = None) -> Spec:
        """The document at ``path`` (default: the contract), with any ``$ref`` into another file
        bundled in: control-api.yaml reuses the contract's enums that way."""
        path = path or spec_path()
        with open(path, encoding="utf-8") as fh:
            return cls(_bundled(yaml.safe_load(fh), path.parent))

    # --- component lookups -------------------------------------------------------------
    def schema(self, name: str) -> dict[str, Any]:
        return self.document["components"]["schemas"][name]

    def enum(self, name: str) -> tuple[str, ...]:
        return tuple(v for v in self.schema(name)["enum"] if v is not None)

    def validator(self, schema_or_ref: dict[str, Any] | str) -> Draft202012Validator:
        """A validator that resolves ``$ref``s into this document."""
        node = self.schema(schema_or_ref) if isinstance(schema_or_ref, str) else schema_or_ref
        try:
            inlined = self._inline(node, ())
        except RecursionError:
            inlined = None
        if inlined is not None:  # no $ref left to resolve per call: 3x faster validation
            return Draft202012Validator(inlined, format_checker=FormatChecker())
        schema = (
            {"$ref": f"{SPEC_URI}#/components/schemas/{schema_or_ref}"}
            if isinstance(schema_or_ref, str)
            else _absolutize(schema_or_ref)
        )
        return Draft202012Validator(schema, registry=self._registry, format_checker=FormatChecker())

    def fast_validator(
        self, schema_or_name: dict[str, Any] | str, *, formats: bool = False
    ) -> Callable[[Any], bool]:
        """A compiled (jsonschema-rs) yes/no check of a component or schema, for hot paths
        (``formats``: also check ``format``s); use ``validator`` to learn what is wrong.
        Raises RecursionError for a recursive schema."""
        node = self.schema(schema_or_name) if isinstance(schema_or_name, str) else schema_or_name
        inlined = self._inline(node, ())
        return jsonschema_rs.validator_for(inlined, validate_formats=formats).is_valid

    def _inline(self, node: Any, seen: tuple[str, ...]) -> Any:
        """``node`` with every local ``$ref`` replaced by its target (a sibling keyword keeps
        applying through ``allOf``); raises RecursionError for a recursive schema."""
        if isinstance(node, list):
            return [self._inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                raise RecursionError(ref)
            target = self._inline(self.resolve({"$ref": ref}), (*seen, ref))
            rest = {k: self._inline(v, seen) for k, v in node.items() if k != "$ref"}
            return {**rest, "allOf": [target]} if rest else target
        return {key: self._inline(value, seen) for key, value in node.items()}

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow a local ``$ref`` (one level or a chain) to the node it names."""
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#/").split("/")
            target: Any = self.document
            for part in pointer:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def operation(self, operation_id: str) -> tuple[str, str, dict[str, Any]]:
        for path, item in self.document["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return path, method.upper(), op
        raise KeyError(operation_id)

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return tuple(
            op["operationId"]
            for item in self.document["paths"].values()
            for op in item.values()
            if isinstance(op, dict) and "operationId" in op
        )

    def statuses(self, operation_id: str) -> tuple[int, ...]:
        """The statuses the operation documents (ranges such as ``4XX`` and ``default`` aside)."""
        _, _, op = self.operation(operation_id)
        return tuple(int(status) for status in op["responses"] if str(status).isdigit())

    def error_codes(self, operation_id: str, status: int) -> tuple[str, ...]:
        """The ``error.code`` values the operation may answer with ``status``: its response's
        ``x-cbk-error-codes``. Every error response shares one body schema (one error type in
        generated clients), so the per-status codes live beside it. Empty for a success or an
        undocumented status."""
        _, _, op = self.operation(operation_id)
        node = op["responses"].get(str(status))
        if node is None:
            return ()
        return tuple(self.resolve(node).get("x-cbk-error-codes", ()))

    # --- rules -------------------------------------------------------------------------
    @functools.cached_property
    def plans(self) -> dict[str, Plan]:
        return {name: Plan.from_spec(name, raw) for name, raw in self.rules["plans"].items()}

    @functools.cached_property
    def error_status(self) -> dict[str, int]:
        return dict(self.schema("ErrorCode")["x-cbk-http-status"])

    @property
    def api_key_pattern(self) -> str:
        return self.rules["apiKeyPattern"]

    @property
    def api_key_prefix(self) -> str:
        """The literal start every key has (``cbk_live_``), read off ``apiKeyPattern``."""
        match = re.match(r"\^([A-Za-z0-9_-]+)", self.api_key_pattern)
        if match is None:  # pragma: no cover — the spec changed
            raise ValueError(f"apiKeyPattern has no literal prefix: {self.api_key_pattern}")
        return match.group(1)

    @property
    def max_body_bytes(self) -> int:
        return int(self.rules["maxBodyBytes"])

    @property
    def rate_limit_window(self) -> int:
        return int(self.rules["rateLimitWindowSeconds"])

    @property
    def credits_per_page(self) -> int:
        return int(self.rules["creditsPerPage"])

    @functools.cached_property
    def credit_rules(self) -> tuple[CreditRule, ...]:
        """Every operation that costs credits, as its ``x-cbk-credits`` says."""
        found = []
        for path, item in self.document.get("paths", {}).items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "x-cbk-credits" in operation:
                    found.append(self._credit_rule(path, method.upper(), operation))
        return tuple(found)

    def _credit_rule(self, path: str, method: str, operation: dict[str, Any]) -> CreditRule:
        expression = operation["x-cbk-credits"]["perAcceptance"]
        content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        properties = self.resolve(content.get("schema", {})).get("properties", {})
        fields, multiplier = [], 1
        for name in (part.strip() for part in str(expression).split("*")):
            if name in properties:
                fields.append(name)
            elif name in self.rules:
                multiplier *= int(self.rules[name])
            elif name == "creditsPerPage":
                multiplier *= DEFAULT_CREDITS_PER_PAGE
            else:
                raise ValueError(
                    f"x-cbk-credits of {operation.get('operationId')}: {name!r} is neither a "
                    "request body field nor an x-cbk rule"
                )
        accepted = min(int(s) for s in operation["responses"] if str(s).startswith("2"))
        return CreditRule(
            operation.get("operationId", f"{method} {path}"),
            method,
            path,
            accepted,
            tuple(fields),
            multiplier,
            tuple(int(self.resolve(properties[name])["maximum"]) for name in fields),
        )

    @property
    def idempotency_key_max_length(self) -> int:
        return int(self.rules["idempotency"]["keyMaxLength"])

    @property
    def idempotency_ttl(self) -> int:
        return int(self.rules["idempotency"]["ttlSeconds"])

    @property
    def request_id_pattern(self) -> str:
        return self.rules["requestId"]["echoPattern"]

    # --- header names --------------------------------------------------------------------
    @functools.cached_property
    def api_key_header(self) -> str:
        """The request header that carries an API key (the ``apiKey`` security scheme)."""
        schemes = self.document["components"]["securitySchemes"].values()
        return next(s["name"] for s in schemes if s["type"] == "apiKey" and s["in"] == "header")

    def header_name(self, component: str) -> str:
        """The name responses send ``#/components/headers/<component>`` under."""
        return self._header_names[component]

    @functools.cached_property
    def rate_limit_headers(self) -> RateLimitHeaders:
        return RateLimitHeaders(
            self.header_name("XRateLimitLimit"),
            self.header_name("XRateLimitRemaining"),
            self.header_name("XRateLimitReset"),
        )

    @property
    def retry_after_header(self) -> str:
        return self.header_name("RetryAfter")

    @functools.cached_property
    def _header_names(self) -> dict[str, str]:
        responses = list(self.document.get("components", {}).get("responses", {}).values())
        for item in self.document["paths"].values():
            for op in item.values():
                if isinstance(op, dict):
                    responses += op.get("responses", {}).values()
        names: dict[str, str] = {}
        for response in responses:
            for name, node in (response.get("headers") or {}).items():
                ref = node.get("$ref", "")
                if ref.startswith("#/components/headers/"):
                    names.setdefault(ref.rsplit("/", 1)[1], name)
        return names


def _bundled(node: Any, base: Path) -> Any:
    """``node`` with each ``$ref`` into another document replaced by its target (itself with
    every local ``$ref`` inlined). A reference to the contract's file name that is not found
    beside ``base`` (installed, both files sit in the package) means the contract."""
    if isinstance(node, list):
        return [_bundled(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if not isinstance(ref, str) or ref.startswith("#"):
        return {key: _bundled(value, base) for key, value in node.items()}
    file, _, pointer = ref.partition("#")
    target = (base / file).resolve()
    if not target.is_file() and target.name == spec_path().name:
        target = spec_path()
    source = load_spec() if target == spec_path().resolve() else Spec.load(target)
    bundled = source._inline(source.resolve({"$ref": f"#{pointer}"}), ())
    rest = {key: _bundled(value, base) for key, value in node.items() if key != "$ref"}
    return {**rest, "allOf": [bundled]} if rest else bundled


def _absolutize(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (f"{SPEC_URI}{v}" if k == "$ref" and v.startswith("#") else _absolutize(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolutize(v) for v in node]
    return node


@functools.cache
def load_control_spec() -> Spec:
    """The mock's own control API, ``mockserver/control-api.yaml``: its request bodies, and
    the parameters of the ``X-Mock-Scenario`` header with their ranges."""
    return Spec.load(Path(__file__).resolve().parent / "control-api.yaml")


@functools.cache
def load_spec() -> Spec:
    """The process-wide contract (parsed once)."""
    return Spec.load()
