"""The control API under /_mock/: admin token, users and plans, keys, usage, dashboard books,
reset and the virtual clock — everything a test needs to drive the mock deterministically."""

from __future__ import annotations

import pytest

from mockserver.core.config import DEFAULT_ADMIN_TOKEN
from mockserver.core.keys import dev_key
from tests.mock_kit import advance, control, create_book, data_of, error_of, read_book

pytestmark = pytest.mark.mock_config(clock="manual", page_seconds=10)

ADMIN_ENDPOINTS = [
    ("POST", "reset"),
    ("GET", "dev-keys"),
    ("GET", "clock"),
    ("POST", "clock/advance"),
    ("POST", "clock/set"),
    ("POST", "users"),
    ("GET", "users/user_dev_pro"),
    ("PATCH", "users/user_dev_pro"),
    ("POST", "users/user_dev_pro/keys"),
    ("GET", "users/user_dev_pro/usage"),
    ("PUT", "users/user_dev_pro/usage"),
    ("POST", "users/user_dev_pro/books"),
    ("POST", "keys/key_x/revoke"),
    ("GET", "scenarios"),
    ("POST", "scenarios"),
    ("DELETE", "scenarios"),
]


async def _new_user(client, mock, plan: str = "pro", **extra) -> dict:
    return await control(client, mock, "POST", "users", {"plan": plan, **extra}, status=201)


# --- access ------------------------------------------------------------------------------
async def test_health_needs_no_token(client):
    health = data_of(await client.get("/_mock/health"))
    assert (health["status"], health["clock"]) == ("ok", "manual")


@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
async def test_every_other_endpoint_needs_the_admin_token(client, method, path):
    for headers in ({}, {"X-Mock-Admin-Token": "wrong"}, {"X-Mock-Admin-Token": ""}):
        response = await client.request(method, f"/_mock/{path}", json={}, headers=headers)
        error_of(response, 401, "UNAUTHORIZED")


@pytest.mark.mock_config(admin_token="s3cret-token")
async def test_configured_admin_token_replaces_the_default(client):
    refused = await client.get("/_mock/clock", headers={"X-Mock-Admin-Token": DEFAULT_ADMIN_TOKEN})
    error_of(refused, 401, "UNAUTHORIZED")
    data_of(await client.get("/_mock/clock", headers={"X-Mock-Admin-Token": "s3cret-token"}))


async def test_unknown_control_path_is_404(client, mock):
    error_of(await client.get("/_mock/nothing", headers=mock.admin_headers), 404, "NOT_FOUND")


async def test_wrong_method_on_a_control_path_is_405_with_allow(client, mock):
    response = await client.delete("/_mock/clock", headers=mock.admin_headers)
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET"


async def test_control_responses_echo_the_request_id(client, mock):
    response = await client.get(
        "/_mock/clock", headers={**mock.admin_headers, "X-Request-Id": "ctl-1"}
    )
    assert response.headers["x-request-id"] == response.json()["requestId"] == "ctl-1"


# --- request bodies ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("users", {"plan": "pro", "colour": "red"}, "colour"),
        ("users", {"plan": 7}, "plan"),
        ("users", {}, "plan"),
        ("clock/advance", {"seconds": -1}, "seconds"),
        ("clock/advance", {"seconds": "ten"}, "seconds"),
        ("scenarios", {"error": 404}, "error"),
        ("scenarios", {"error": 500, "failAtPage": 2}, "body"),
        ("scenarios", {"error": 500, "userId": "user_dev_pro"}, "body"),
        ("scenarios", {"failAtPage": 2, "stallAtPage": 3}, "body"),
        ("scenarios", {"errorMessage": "x"}, "body"),
        ("scenarios", {"failAtPage": 0}, "failAtPage"),
        ("users/user_dev_pro/books", {"style": "3D"}, "style"),
        ("users/user_dev_pro/books", {"language": "en"}, "language"),
    ],
)
async def test_invalid_control_body_is_a_validation_error(client, mock, path, body, field):
    response = await client.post(f"/_mock/{path}", json=body, headers=mock.admin_headers)
    assert field in error_of(response, 400, "VALIDATION_ERROR")["fields"]


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b"NaN"], ids=repr)
async def test_unparseable_control_body_is_bad_request(client, mock, raw):
    response = await client.post("/_mock/users", content=raw, headers=mock.admin_headers)
    error_of(response, 400, "BAD_REQUEST")


async def test_oversized_control_body_is_bad_request(client, mock):
    raw = b'{"plan": "pro"}' + b" " * 70_000
    response = await client.post("/_mock/users", content=raw, headers=mock.admin_headers)
    error_of(response, 400, "BAD_REQUEST")


# --- users, plans and keys ---------------------------------------------------------------
async def test_dev_keys_lists_the_fixed_dev_users(client, mock):
    dev = await control(client, mock, "GET", "dev-keys")
    assert set(dev) == {"pro", "premium", "free", "revoked", "other"}
    assert all(entry["apiKey"] == dev_key(name) for name, entry in dev.items())
    assert all(entry["keyId"] for entry in dev.values())


async def test_dev_keys_names_the_dev_key_itself_after_more_keys_are_issued(
    client, mock, pro_headers, create_body
):
    for _ in range(3):
        extra = await control(client, mock, "POST", "users/user_dev_pro/keys", status=201)
    key_id = (await control(client, mock, "GET", "dev-keys"))["pro"]["keyId"]
    await control(client, mock, "POST", f"keys/{key_id}/revoke")
    revoked = await client.post("/v1/stories", json=create_body, headers=pro_headers)
    error_of(revoked, 401, "INVALID_API_KEY")
    still = await client.post(
        "/v1/stories", json=create_body, headers={"x-api-key": extra["apiKey"]}
    )
    data_of(still, 202)


@pytest.mark.parametrize(("plan", "limit"), [("pro", "60"), ("premium", "200")])
async def test_created_user_key_works_with_its_plan(client, mock, create_body, plan, limit):
    user = await _new_user(client, mock, plan)
    assert user["plan"] == plan
    response = await client.post(
        "/v1/stories", json=create_body, headers={"x-api-key": user["apiKey"]}
    )
    data_of(response, 202)
    assert response.headers["x-ratelimit-limit"] == limit


async def test_created_free_user_key_gets_plan_required(client, mock, create_body):
    user = await _new_user(client, mock, "free")
    response = await client.post(
        "/v1/stories", json=create_body, headers={"x-api-key": user["apiKey"]}
    )
    error_of(response, 403, "PLAN_REQUIRED")


async def test_unknown_plan_is_a_validation_error(client, mock):
    response = await client.post("/_mock/users", json={"plan": "gold"}, headers=mock.admin_headers)
    assert "plan" in error_of(response, 400, "VALIDATION_ERROR")["fields"]


async def test_user_view_lists_key_ids_and_flags_but_never_keys(client, mock):
    user = await _new_user(client, mock, name="Ada")
    view = await control(client, mock, "GET", f"users/{user['userId']}")
    assert (view["name"], view["plan"]) == ("Ada", "pro")
    assert view["keys"] == [{"keyId": user["keyId"], "revoked": False, "suspended": False}]


async def test_unknown_user_is_404(client, mock):
    response = await client.get("/_mock/users/user_nobody", headers=mock.admin_headers)
    error_of(response, 404, "NOT_FOUND")


async def test_issued_key_is_an_extra_working_key(client, mock, create_body):
    user = await _new_user(client, mock)
    extra = await control(client, mock, "POST", f"users/{user['userId']}/keys", status=201)
    assert extra["apiKey"] != user["apiKey"]
    for key in (user["apiKey"], extra["apiKey"]):
        data_of(await client.post("/v1/stories", json=create_body, headers={"x-api-key": key}), 202)


async def test_free_user_cannot_be_issued_a_key(client, mock):
    user = await _new_user(client, mock, "free")
    response = await client.post(f"/_mock/users/{user['userId']}/keys", headers=mock.admin_headers)
    error_of(response, 403, "PLAN_REQUIRED")


@pytest.mark.parametrize("action", ["revoke", "rotate", "suspend", "unsuspend"])
async def test_key_action_on_an_unknown_key_is_404(client, mock, action):
    response = await client.post(f"/_mock/keys/key_nope/{action}", headers=mock.admin_headers)
    error_of(response, 404, "NOT_FOUND")


async def test_unknown_key_action_is_404(client, mock):
    user = await _new_user(client, mock)
    response = await client.post(f"/_mock/keys/{user['keyId']}/explode", headers=mock.admin_headers)
    error_of(response, 404, "NOT_FOUND")


async def test_downgrade_to_free_revokes_every_key(client, mock, create_body):
    user = await _new_user(client, mock)
    extra = await control(client, mock, "POST", f"users/{user['userId']}/keys", status=201)
    view = await control(client, mock, "PATCH", f"users/{user['userId']}", {"plan": "free"})
    assert view["plan"] == "free" and all(k["revoked"] for k in view["keys"])
    for key in (user["apiKey"], extra["apiKey"]):
        response = await client.post("/v1/stories", json=create_body, headers={"x-api-key": key})
        error_of(response, 401, "INVALID_API_KEY")


async def test_upgrade_after_a_downgrade_needs_a_new_key(client, mock, create_body):
    user = await _new_user(client, mock)
    await control(client, mock, "PATCH", f"users/{user['userId']}", {"plan": "free"})
    await control(client, mock, "PATCH", f"users/{user['userId']}", {"plan": "pro"})
    old = await client.post("/v1/stories", json=create_body, headers={"x-api-key": user["apiKey"]})
    error_of(old, 401, "INVALID_API_KEY")
    fresh = await control(client, mock, "POST", f"users/{user['userId']}/keys", status=201)
    response = await client.post(
        "/v1/stories", json=create_body, headers={"x-api-key": fresh["apiKey"]}
    )
    data_of(response, 202)


async def test_plan_change_applies_to_the_next_request(client, mock, pro_headers, create_body):
    await control(client, mock, "PATCH", "users/user_dev_pro", {"plan": "premium"})
    response = await client.post("/v1/stories", json=create_body, headers=pro_headers)
    assert response.headers["x-ratelimit-limit"] == "200"


# --- usage -------------------------------------------------------------------------------
async def test_usage_counts_books_and_credits(client, mock, pro_headers, create_body):
    await create_book(client, pro_headers, create_body)
    usage = await control(client, mock, "GET", "users/user_dev_pro/usage")
    assert (usage["booksToday"], usage["creditsUsed"]) == (1, create_body["pageCount"])
    assert usage["creditsRemaining"] == usage["monthlyCredits"] - create_body["pageCount"]


async def test_usage_can_be_set_to_start_at_the_edge_of_a_limit(client, mock):
    usage = await control(
        client, mock, "PUT", "users/user_dev_pro/usage", {"booksToday": 3, "creditsUsed": 490}
    )
    assert (usage["booksToday"], usage["creditsUsed"]) == (3, 490)


async def test_monthly_credits_override_shows_in_usage(client, mock):
    user = await _new_user(client, mock, monthlyCredits=12)
    usage = await control(client, mock, "GET", f"users/{user['userId']}/usage")
    assert (usage["monthlyCredits"], usage["creditsRemaining"]) == (12, 12)


# --- dashboard books ---------------------------------------------------------------------
async def test_dashboard_book_is_readable_through_the_api(client, mock, pro_headers):
    made = await control(
        client,
        mock,
        "POST",
        "users/user_dev_pro/books",
        {"title": "Moon Picnic", "storyIdea": "A picnic on the moon.", "pageCount": 6},
        status=201,
    )
    story = await read_book(client, pro_headers, made["id"])
    assert (story["source"], story["status"], story["title"]) == ("web", "completed", "Moon Picnic")
    assert len(story["pages"]) == 5


async def test_dashboard_book_is_hidden_from_other_users(client, mock):
    made = await control(client, mock, "POST", "users/user_dev_pro/books", {}, status=201)
    response = await client.get(
        f"/v1/stories/{made['id']}", headers={"x-api-key": mock.keys["other"]}
    )
    error_of(response, 404, "NOT_FOUND")


async def test_dashboard_book_without_a_task_reports_unknown(client, mock, pro_headers):
    made = await control(
        client, mock, "POST", "users/user_dev_pro/books", {"withTask": False}, status=201
    )
    story = await read_book(client, pro_headers, made["id"])
    assert (story["status"], story["progress"], story["pages"]) == ("unknown", 0, [])


async def test_dashboard_book_shares_the_monthly_credits(client, mock):
    await control(client, mock, "POST", "users/user_dev_pro/books", {"pageCount": 9}, status=201)
    usage = await control(client, mock, "GET", "users/user_dev_pro/usage")
    assert (usage["creditsUsed"], usage["booksToday"]) == (9, 0)


async def test_dashboard_book_for_an_unknown_user_is_404(client, mock):
    response = await client.post(
        "/_mock/users/user_nobody/books", json={}, headers=mock.admin_headers
    )
    error_of(response, 404, "NOT_FOUND")


# --- reset -------------------------------------------------------------------------------
async def test_reset_forgets_books_and_created_users(client, mock, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    user = await _new_user(client, mock)
    await control(client, mock, "POST", "reset")
    missing = await client.get(f"/v1/stories/{book['bookId']}", headers=pro_headers)
    error_of(missing, 404, "NOT_FOUND")
    gone = await client.post("/v1/stories", json=create_body, headers={"x-api-key": user["apiKey"]})
    error_of(gone, 401, "INVALID_API_KEY")


async def test_reset_reseeds_the_dev_users(client, mock, pro_headers, create_body):
    await control(client, mock, "POST", "keys/" + (await _dev_key_id(client, mock)) + "/revoke")
    await control(client, mock, "POST", "reset")
    data_of(await client.post("/v1/stories", json=create_body, headers=pro_headers), 202)


async def test_reset_restarts_the_manual_clock(client, mock):
    start = (await control(client, mock, "GET", "clock"))["now"]
    await advance(client, mock, 3600)
    await control(client, mock, "POST", "reset")
    assert (await control(client, mock, "GET", "clock"))["now"] == start


async def _dev_key_id(client, mock) -> str:
    return (await control(client, mock, "GET", "dev-keys"))["pro"]["keyId"]


# --- the clock ---------------------------------------------------------------------------
async def test_manual_clock_stands_still_until_advanced(client, mock):
    first = await control(client, mock, "GET", "clock")
    second = await control(client, mock, "GET", "clock")
    assert first == second and first["mode"] == "manual"


async def test_clock_advance_moves_now_by_the_given_seconds(client, mock):
    before = await control(client, mock, "GET", "clock")
    after = await control(client, mock, "POST", "clock/advance", {"seconds": 90.5})
    assert before["now"].endswith(":00.000Z")
    assert after["now"] == before["now"].replace("09:00:00.000Z", "09:01:30.500Z")


async def test_clock_set_jumps_to_a_later_instant(client, mock):
    after = await control(client, mock, "POST", "clock/set", {"now": "2026-02-01T00:00:00Z"})
    assert after["now"] == "2026-02-01T00:00:00.000Z"


async def test_manual_clock_refuses_to_go_back(client, mock):
    await control(client, mock, "POST", "clock/set", {"now": "2026-02-01T00:00:00Z"})
    response = await client.post(
        "/_mock/clock/set", json={"now": "2026-01-01T00:00:00Z"}, headers=mock.admin_headers
    )
    assert "now" in error_of(response, 400, "VALIDATION_ERROR")["fields"]


@pytest.mark.parametrize("when", ["yesterday", "2026-13-01T00:00:00Z", ""])
async def test_clock_set_to_a_non_timestamp_is_a_validation_error(client, mock, when):
    response = await client.post("/_mock/clock/set", json={"now": when}, headers=mock.admin_headers)
    error_of(response, 400, "VALIDATION_ERROR")


@pytest.mark.mock_config(clock="system")
async def test_system_clock_can_be_advanced_too(client, mock):
    before = await control(client, mock, "GET", "clock")
    after = await control(client, mock, "POST", "clock/advance", {"seconds": 86400})
    assert (before["mode"], after["now"][:10] > before["now"][:10]) == ("system", True)


# --- every lifecycle path, through HTTP alone -----------------------------------------------
async def test_control_api_drives_every_lifecycle_path(client, mock, pro_headers, create_body):
    await control(
        client, mock, "POST", "scenarios", {"failAtPage": 2, "errorMessage": "Ink ran out."}
    )
    failing = await create_book(client, pro_headers, create_body)
    await control(client, mock, "POST", "scenarios", {"stallAtPage": 3})
    stalling = await create_book(client, pro_headers, create_body)
    normal = await create_book(client, pro_headers, create_body)
    seen: dict[str, list[str]] = {"failing": [], "stalling": [], "normal": []}
    for _ in range(12):
        for name, book in (("failing", failing), ("stalling", stalling), ("normal", normal)):
            status = (await read_book(client, pro_headers, book["bookId"]))["status"]
            if not seen[name] or seen[name][-1] != status:
                seen[name].append(status)
        await advance(client, mock, 10)
    assert seen == {
        "failing": ["pending", "processing", "failed"],
        "stalling": ["pending", "processing"],
        "normal": ["pending", "processing", "completed"],
    }
    failed = await read_book(client, pro_headers, failing["bookId"])
    assert failed["errorMessage"] == "Ink ran out."


@pytest.mark.parametrize(
    "clock",
    [
        pytest.param("system", marks=pytest.mark.mock_config(clock="system")),
        pytest.param("manual", marks=pytest.mark.mock_config(clock="manual")),
    ],
)
@pytest.mark.parametrize(
    "body",
    [{"now": "2001-01-01T00:00:00Z"}, {"now": "9999-12-31T23:59:59Z"}],
    ids=["past", "beyond 9000"],
)
async def test_clock_set_outside_now_to_9000_is_a_validation_error(mock, client, clock, body):
    assert mock.service.clock.mode == clock
    response = await client.post("/_mock/clock/set", json=body, headers=mock.admin_headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
