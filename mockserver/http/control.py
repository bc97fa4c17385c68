"""The control API under ``/_mock/`` (described in ``control-api.yaml``): users, keys, usage,
clock, scenarios and reset, for tests and SDK authors. Framework-free like the gateway."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

from mockserver.core import keys
from mockserver.core.accounts import DEV_USERS, dev_user_id
from mockserver.core.books import JobScenario
from mockserver.core.clock import isoformat, parse_iso
from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.service import MockService
from mockserver.core.validation import offending_fields
from mockserver.http.messages import Exchange, HttpReply, json_reply
from mockserver.spec import Spec, load_control_spec

ADMIN_HEADER = "X-Mock-Admin-Token"
Params = dict[str, str]
Action = Callable[["ControlApi", Exchange, Params], Awaitable[tuple[int, Any]]]
Handler = Callable[[Exchange, Params], Awaitable[HttpReply]]


def control_spec() -> Spec:
    return load_control_spec()


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ControlApi:
    def __init__(self, service: MockService) -> None:
        self.service = service

    # --- routing (the gateway routes by control-api.yaml's paths) ------------------------
    def operation(self, operation_id: str) -> Handler:
        """The handler of a control-api.yaml operation: its action (``createUser`` →
        ``create_user``), behind the admin token except for ``health``."""
        action: Action = getattr(ControlApi, _snake_case(operation_id))

        async def run(exchange: Exchange, params: Params) -> HttpReply:
            if action is not ControlApi.health:
                self._check_admin(exchange)
            status, data = await action(self, exchange, params)
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

    async def _usage(self, user_id: str) -> dict[str, Any]:
        svc = self.service
        return await svc.quotas.usage(await svc.accounts.account(user_id), await svc.now())

    async def get_usage(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        return 200, await self._usage(params["userId"])

    async def set_usage(self, exchange: Exchange, params: Params) -> tuple[int, Any]:
        body = self._body(exchange, "SetUsage")
        await self.service.accounts.get_user(params["userId"])
        await self.service.quotas.set_usage(
            params["userId"],
            await self.service.now(),
            books_today=body.get("booksToday"),
            credits_used=body.get("creditsUsed"),
        )
        return 200, await self._usage(params["userId"])

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
            fields={k: body.get(v) for k, v in _BOOK_FIELDS.items()},
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


_BOOK_FIELDS = {
    "age_range": "ageRange",
    "style": "style",
    "tone": "tone",
    "language": "language",
}
