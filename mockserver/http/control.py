"""The control API under ``/_mock/`` (described in ``control-api.yaml``): users, keys, usage,
clock, scenarios, the request journal, reset and the web console's files, for tests and SDK
authors. Framework-free like the gateway."""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from mockserver.core import keys
from mockserver.core.books import JobScenario
from mockserver.core.clock import isoformat, parse_iso
from mockserver.core.dev import ADMIN_HEADER, DEV_USERS, dev_user_id
from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.journal import DEFAULT_LIMIT, JournalQuery
from mockserver.core.service import MockService
from mockserver.core.validation import offending_fields, whole_number
from mockserver.http import console
from mockserver.http.assets import asset_reply
from mockserver.http.messages import Exchange, HttpReply, json_reply
from mockserver.spec import Spec, load_control_spec

Params = dict[str, str]
Action = Callable[["ControlApi", Exchange, Params], Awaitable[tuple[int, Any] | HttpReply]]
Handler = Callable[[Exchange, Params], Awaitable[HttpReply]]


def control_spec() -> Spec:
    return load_control_spec()


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def _query_schemas(operation_id: str) -> tuple[dict[str, dict[str, Any]], Any]:
    """An operation's query parameters by name, and a validator of them all as one object."""
    _, _, op = control_spec().operation(operation_id)
    declared = [control_spec().resolve(p) for p in op.get("parameters", ())]
    params = {p["name"]: p["schema"] for p in declared if p["in"] == "query"}
    schema = {"type": "object", "properties": params}
    return params, control_spec().validator(schema)


def _public(operation_id: str) -> bool:
    """Operations that control-api.yaml marks ``security: []`` need no admin token."""
    _, _, op = control_spec().operation(operation_id)
    return op.get("security") == []


class ControlApi:
    def __init__(self, service: MockService) -> None:
        self.service = service

    # --- routing (the gateway routes by control-api.yaml's paths) ------------------------
    def operation(self, operation_id: str) -> Handler:
        """The handler of a control-api.yaml operation: its action (``createUser`` →
        ``create_user``), behind the admin token unless the document says ``security: []``."""
        action: Action = getattr(ControlApi, _snake_case(operation_id))
        public = _public(operation_id)

        async def run(exchange: Exchange, params: Params) -> HttpReply:
            if not public:
                self._check_admin(exchange)
            answer = await action(self, exchange, params)
            if isinstance(answer, HttpReply):
                return answer
            status, data = answer
            return json_reply(exchange, status, data)

        return run

    def _check_admin(self, exchange: Exchange) -> None:
        # Header values may hold undecodable bytes (as lone surrogates): compare them as bytes.
        token = (exchange.headers.get(ADMIN_HEADER) or "").encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(token, self.service.config.admin_token.encode()):
            raise ApiError("UNAUTHORIZED", f"The control API needs the {ADMIN_HEADER} header.")

    @staticmethod
    def _body(exchange: Exchange, schema: str) -> dict[str, Any]:
        """The validated body, its integers as ``int`` (JSON's ``7.0`` is the integer 7, and a
        float stored in Redis would not read back as a counter)."""
        body = exchange.request.json_body() if exchange.request.body else {}
        fields = offending_fields(control_spec().validator(schema), body)
        if fields:
            raise ApiError("VALIDATION_ERROR", "Control request failed validation.", fields=fields)
        properties = control_spec().schema(schema).get("properties", {})
        return {
            name: int(value)
            if properties.get(name, {}).get("type") == "integer" and isinstance(value, float)
            else value
            for name, value in body.items()
        }

    @staticmethod
    def _query(exchange: Exchange, operation_id: str) -> dict[str, Any]:
        """The query parameters, checked against the operation's: unknown or repeated names
        and invalid values are a VALIDATION_ERROR naming each."""
        params, validator = _query_schemas(operation_id)
        values: dict[str, Any] = {}
        fields: dict[str, str] = {}
        for name, value in parse_qsl(exchange.request.query, keep_blank_values=True):
            if name not in params:
                fields[name] = "Unknown parameter"
            elif name in values:
                fields[name] = "Given more than once"
            elif params[name].get("type") == "integer":
                values[name] = value if whole_number(value) is None else int(value)
            else:
                values[name] = value
        fields.update(offending_fields(validator, values))
        if fields:
            raise ApiError("VALIDATION_ERROR", "Query parameters failed validation.", fields=fields)
        return values

    # --- actions -------------------------------------------------------------------------
    async def health(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        """Liveness: always 200, also while the shared store is down (``cacheReachable``)."""
        svc = self.service
        reachable = await svc.store_reachable()
        try:
            books = await svc.books_held() if reachable else None
        except BackendUnavailable:
            reachable, books = False, None
        return 200, {
            "status": "ok",
            "clock": svc.clock.mode,
            "db": svc.db.name,
            "cache": svc.cache.name,
            "cacheReachable": reachable,
            "books": books,
            "maxBooks": svc.config.max_books,
            "adminHeader": ADMIN_HEADER,
            "console": console.ENTRY,
            "journalSize": svc.journal.size,
        }

    async def reset(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        await self.service.reset()
        return 200, {"reset": True}

    async def dev_keys(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        result = {}
        for name in DEV_USERS:
            records = await self.service.accounts.user_keys(dev_user_id(name))
            digest = keys.digest(keys.dev_key(name))
            result[name] = {
                "apiKey": keys.dev_key(name),
                "userId": dev_user_id(name),
                "keyId": next((r.key_id for r in records if r.digest == digest), None),
            }
        return 200, result

    async def _clock(self) -> dict[str, Any]:
        return {"mode": self.service.clock.mode, "now": isoformat(await self.service.now())}

    async def get_clock(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        return 200, await self._clock()

    async def advance_clock(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        body = self._body(exchange, "AdvanceClock")
        await self.service.clock.advance(float(body["seconds"]))
        return 200, await self._clock()

    async def set_clock(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        body = self._body(exchange, "SetClock")
        try:
            when = parse_iso(body["now"])
        except ValueError as exc:
            raise ApiError("VALIDATION_ERROR", str(exc), fields={"now": str(exc)}) from None
        await self.service.clock.set(when)
        return 200, await self._clock()

    async def create_user(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        body = self._body(exchange, "CreateUser")
        accounts = self.service.accounts
        user_id = f"user_{keys.new_key()[-12:]}"
        issued = await accounts.create_user(
            body["plan"],
            name=body.get("name"),
            user_id=user_id,
            api_key=keys.new_key(),  # Free users get one too, to exercise PLAN_REQUIRED
            monthly_credits=body.get("monthlyCredits"),
        )
        return 201, {
            "userId": issued.user_id,
            "keyId": issued.key_id,
            "apiKey": issued.api_key,
            "plan": body["plan"],
        }

    async def _user_view(self, user_id: str) -> dict[str, Any]:
        svc = self.service
        user = await svc.accounts.get_user(user_id)
        return {
            "userId": user.id,
            "name": user.name,
            "plan": user.plan,
            "keys": [
                {"keyId": k.key_id, "revoked": k.revoked, "suspended": k.suspended}
                for k in await svc.accounts.user_keys(user_id)
            ],
            "books": await svc.user_books(user_id),
        }

    async def list_plans(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        return 200, {
            name: {
                "apiAccess": plan.api_access,
                "requestsPerMinute": plan.requests_per_minute,
                "booksPerDay": plan.books_per_day,
                "monthlyCredits": plan.monthly_credits,
            }
            for name, plan in self.service.accounts.plans.items()
        }

    async def list_users(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        user_ids = sorted(await self.service.accounts.user_ids())
        return 200, [await self._user_view(user_id) for user_id in user_ids]

    async def get_user(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        return 200, await self._user_view(params["userId"])

    async def update_user(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        body = self._body(exchange, "UpdateUser")
        await self.service.accounts.update_user(
            params["userId"], plan=body.get("plan"), monthly_credits=body.get("monthlyCredits")
        )
        return 200, await self._user_view(params["userId"])

    async def issue_key(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        issued = await self.service.accounts.issue_key(params["userId"])
        return 201, {"userId": issued.user_id, "keyId": issued.key_id, "apiKey": issued.api_key}

    async def get_usage(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        return 200, await self.service.usage(params["userId"])

    async def set_usage(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        body = self._body(exchange, "SetUsage")
        await self.service.accounts.get_user(params["userId"])
        await self.service.quotas.set_usage(
            params["userId"],
            await self.service.now(),
            books_today=body.get("booksToday"),
            credits_used=body.get("creditsUsed"),
        )
        return 200, await self.service.usage(params["userId"])

    async def list_books(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        limit = self._query(exchange, "listBooks").get("limit", 50)
        svc = self.service
        books = await svc.library(params["userId"], limit)
        now = await svc.now()
        return 200, [book.render(now, exchange.request.base_url) for book in books]

    async def add_dashboard_book(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        body = self._body(exchange, "DashboardBook")
        svc = self.service
        now = await svc.now()
        book = await svc.add_dashboard_book(
            params["userId"],
            title=body.get("title"),
            story_idea=body.get("storyIdea", "A book made on the dashboard."),
            page_count=body.get("pageCount", 5),
            with_task=body.get("withTask", True),
            **{k: body.get(v) for k, v in _BOOK_FIELDS.items()},
            now=now,
        )
        return 201, book.render(now, exchange.request.base_url)

    async def key_action(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        key_id, action = params["keyId"], params["action"]
        accounts = self.service.accounts
        if action == "rotate":
            issued = await accounts.rotate(key_id)
            return 200, {"userId": issued.user_id, "keyId": issued.key_id, "apiKey": issued.api_key}
        flags = {
            "revoke": {"revoked": True},
            "suspend": {"suspended": True},
            "unsuspend": {"suspended": False},
        }.get(action)
        if flags is None:
            raise ApiError("NOT_FOUND", f"Unknown key action {action!r}.")
        record = await accounts.set_key_flags(key_id, **flags)
        return 200, {
            "keyId": record.key_id,
            "revoked": record.revoked,
            "suspended": record.suspended,
        }

    async def list_scenarios(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        return 200, await self.service.scenarios.pending(await self.service.accounts.user_ids())

    async def queue_scenario(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        body = self._body(exchange, "Scenario")
        queue, count = self.service.scenarios, body.get("count", 1)
        if "error" in body:
            await queue.queue_errors(int(body["error"]), count)
        else:
            if body.get("userId") is not None:
                await self.service.accounts.get_user(body["userId"])
            job = JobScenario(
                fail_at_page=body.get("failAtPage"),
                stall_at_page=body.get("stallAtPage"),
                error_message=body.get("errorMessage"),
            )
            await queue.queue_jobs(job, count, body.get("userId"))
        return 200, {"queued": count}

    async def clear_scenarios(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        await self.service.scenarios.clear(await self.service.accounts.user_ids())
        return 200, {"cleared": True}

    async def list_requests(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        values = self._query(exchange, "listRequests")
        since = None
        if "since" in values:
            try:
                since = parse_iso(values["since"])
            except ValueError as exc:
                raise ApiError("VALIDATION_ERROR", str(exc), fields={"since": str(exc)}) from None
        query = JournalQuery(
            user_id=values.get("user"),
            key_id=values.get("keyId"),
            method=values.get("method"),
            path=values.get("path"),
            status=values.get("status"),
            code=values.get("code"),
            since=since,
            after=values.get("after"),
            limit=values.get("limit", DEFAULT_LIMIT),
        )
        return 200, await self.service.journal.find(query)

    async def clear_requests(self, exchange: Exchange, _: Params) -> tuple[int, Any]:
        await self.service.journal.clear()
        return 200, {"cleared": True}

    # --- the web console (static files; its data comes from the actions above) ----------
    async def console_entry(self, exchange: Exchange, _: Params) -> HttpReply:
        reply = json_reply(exchange, 308, {"location": console.ENTRY})
        reply.headers["location"] = console.ENTRY
        return reply

    async def console_file(self, exchange: Exchange, params: Params) -> HttpReply:
        return console.reply(params["file"] or console.INDEX)

    async def console_asset(self, exchange: Exchange, params: Params) -> HttpReply:
        return await asset_reply(self.service, params["bookId"], params["file"])

    async def console_vendor_file(self, exchange: Exchange, params: Params) -> HttpReply:
        return console.reply(f"vendor/{params['file']}")


_BOOK_FIELDS = {
    "age_range": "ageRange",
    "style": "style",
    "tone": "tone",
    "language": "language",
}
