"""Authentication decisions: where the key is read from, 401 UNAUTHORIZED / INVALID_API_KEY,
403 PLAN_REQUIRED / FORBIDDEN, keys stored only as SHA-256 digests, shown once, and revoke /
rotate / suspend taking effect on the very next request."""

from __future__ import annotations

import hashlib
import json

import pytest

from mockserver.core.keys import dev_key
from tests.mock_kit import SOME_UUID, control, create_book, data_of, error_of

UNKNOWN_KEY = "cbk_live_" + "u" * 32


async def _create(client, headers, body):
    return await client.post("/v1/stories", json=body, headers=headers)


async def _key_id(client, mock, name: str) -> str:
    return (await control(client, mock, "GET", "dev-keys"))[name]["keyId"]


# --- where the key comes from ------------------------------------------------------------
async def test_x_api_key_header_authenticates(client, mock, create_body):
    data_of(await _create(client, {"x-api-key": mock.keys["pro"]}, create_body), 202)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_bearer_authorization_authenticates(client, mock, create_body, scheme):
    headers = {"Authorization": f"{scheme} {mock.keys['pro']}"}
    data_of(await _create(client, headers, create_body), 202)


async def test_x_api_key_wins_over_a_valid_bearer(client, mock, create_body):
    headers = {"x-api-key": mock.keys["revoked"], "Authorization": f"Bearer {mock.keys['pro']}"}
    error_of(await _create(client, headers, create_body), 401, "INVALID_API_KEY")


async def test_x_api_key_wins_over_an_invalid_bearer(client, mock, create_body):
    headers = {"x-api-key": mock.keys["pro"], "Authorization": "Bearer cbk_live_nope"}
    data_of(await _create(client, headers, create_body), 202)


async def test_key_on_get_is_read_the_same_way(client, mock):
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={"Authorization": f"Bearer {mock.keys['pro']}"}
    )
    error_of(response, 404, "NOT_FOUND")


# --- 401 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": ""}, {"Authorization": ""}],
    ids=["none", "empty x-api-key", "empty authorization"],
)
async def test_no_key_is_401_unauthorized(client, create_body, headers):
    error_of(await _create(client, headers, create_body), 401, "UNAUTHORIZED")


async def test_no_key_on_get_is_401_unauthorized(client):
    error_of(await client.get(f"/v1/stories/{SOME_UUID}"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "key",
    [
        "nonsense",
        "cbk_live_",
        "cbk_live_" + "a" * 23,
        "cbk_test_" + "a" * 32,
        "CBK_LIVE_" + "a" * 32,
        "cbk_live_" + "a" * 31 + "!",
        "cbk_live_" + "a" * 31 + "=",
        "cbk_live_" + "a" * 6000,
    ],
    ids=[
        "word",
        "prefix only",
        "23 chars",
        "test prefix",
        "upper prefix",
        "bang",
        "padding",
        "long",
    ],
)
async def test_malformed_key_is_401_invalid_api_key(client, create_body, key):
    error_of(await _create(client, {"x-api-key": key}, create_body), 401, "INVALID_API_KEY")


async def test_unknown_well_formed_key_is_401_invalid_api_key(client, create_body):
    error_of(await _create(client, {"x-api-key": UNKNOWN_KEY}, create_body), 401, "INVALID_API_KEY")


async def test_revoked_key_is_401_invalid_api_key(client, mock, create_body):
    response = await _create(client, {"x-api-key": mock.keys["revoked"]}, create_body)
    error_of(response, 401, "INVALID_API_KEY")


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Token cbk_live_pro_dev_key_00000000000000000000", "Bearer"],
)
async def test_unusable_authorization_is_401_invalid_api_key(client, create_body, authorization):
    response = await _create(client, {"Authorization": authorization}, create_body)
    error_of(response, 401, "INVALID_API_KEY")


async def test_two_different_x_api_keys_are_401_invalid_api_key(client, mock, create_body):
    headers = [("x-api-key", mock.keys["pro"]), ("x-api-key", mock.keys["other"])]
    response = await client.post("/v1/stories", json=create_body, headers=headers)
    error_of(response, 401, "INVALID_API_KEY")


async def test_the_same_x_api_key_twice_authenticates(client, mock, create_body):
    headers = [("x-api-key", mock.keys["pro"]), ("x-api-key", mock.keys["pro"])]
    data_of(await client.post("/v1/stories", json=create_body, headers=headers), 202)


async def test_key_is_checked_before_the_body(client, create_body):
    response = await client.post(
        "/v1/stories", content=b"{not json", headers={"content-type": "application/json"}
    )
    error_of(response, 401, "UNAUTHORIZED")


# --- 403 ---------------------------------------------------------------------------------
async def test_free_plan_key_is_403_plan_required(client, mock, create_body):
    response = await _create(client, {"x-api-key": mock.keys["free"]}, create_body)
    error_of(response, 403, "PLAN_REQUIRED")


async def test_free_plan_key_on_get_is_403_plan_required(client, mock):
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={"x-api-key": mock.keys["free"]}
    )
    error_of(response, 403, "PLAN_REQUIRED")


async def test_suspended_key_is_403_forbidden(client, mock, create_body, pro_headers):
    await control(client, mock, "POST", f"keys/{await _key_id(client, mock, 'pro')}/suspend")
    error_of(await _create(client, pro_headers, create_body), 403, "FORBIDDEN")


async def test_unsuspended_key_works_again(client, mock, create_body, pro_headers):
    key_id = await _key_id(client, mock, "pro")
    await control(client, mock, "POST", f"keys/{key_id}/suspend")
    await control(client, mock, "POST", f"keys/{key_id}/unsuspend")
    data_of(await _create(client, pro_headers, create_body), 202)


async def test_suspension_leaves_the_users_other_keys_working(client, mock, create_body):
    dev_key_id = await _key_id(client, mock, "pro")
    issued = await control(client, mock, "POST", "users/user_dev_pro/keys", status=201)
    await control(client, mock, "POST", f"keys/{dev_key_id}/suspend")
    data_of(await _create(client, {"x-api-key": issued["apiKey"]}, create_body), 202)


# --- revoke and rotate take effect on the very next request ---------------------------------
async def test_revoked_key_fails_on_the_very_next_request(client, mock, create_body, pro_headers):
    data_of(await _create(client, pro_headers, create_body), 202)
    await control(client, mock, "POST", f"keys/{await _key_id(client, mock, 'pro')}/revoke")
    error_of(await _create(client, pro_headers, create_body), 401, "INVALID_API_KEY")


async def test_rotated_key_fails_on_the_very_next_request(client, mock, create_body, pro_headers):
    await control(client, mock, "POST", f"keys/{await _key_id(client, mock, 'pro')}/rotate")
    error_of(await _create(client, pro_headers, create_body), 401, "INVALID_API_KEY")


async def test_rotation_returns_a_new_key_that_works_at_once(client, mock, create_body):
    rotated = await control(
        client, mock, "POST", f"keys/{await _key_id(client, mock, 'pro')}/rotate"
    )
    assert rotated["apiKey"] != mock.keys["pro"]
    data_of(await _create(client, {"x-api-key": rotated["apiKey"]}, create_body), 202)


async def test_rotated_key_reads_the_books_of_the_old_one(client, mock, create_body, pro_headers):
    book = await create_book(client, pro_headers, create_body)
    rotated = await control(
        client, mock, "POST", f"keys/{await _key_id(client, mock, 'pro')}/rotate"
    )
    response = await client.get(
        f"/v1/stories/{book['bookId']}", headers={"x-api-key": rotated["apiKey"]}
    )
    assert data_of(response)["id"] == book["bookId"]


# --- keys at rest ------------------------------------------------------------------------
async def test_issued_key_has_the_documented_shape(client, mock):
    issued = await control(client, mock, "POST", "users", {"plan": "pro"}, status=201)
    assert issued["apiKey"].startswith("cbk_live_")
    assert len(issued["apiKey"]) >= len("cbk_live_") + 24


async def test_server_state_holds_only_the_sha256_of_a_key(client, mock):
    issued = await control(client, mock, "POST", "users", {"plan": "pro"}, status=201)
    state = json.dumps(vars(mock.service.db), default=repr)
    assert issued["apiKey"] not in state
    assert hashlib.sha256(issued["apiKey"].encode()).hexdigest() in state


async def test_key_is_shown_once(client, mock):
    issued = await control(client, mock, "POST", "users", {"plan": "pro"}, status=201)
    user = await client.get(f"/_mock/users/{issued['userId']}", headers=mock.admin_headers)
    assert issued["apiKey"] not in user.text
    assert [k["keyId"] for k in data_of(user)["keys"]] == [issued["keyId"]]


def test_dev_keys_are_the_documented_fixed_keys():
    assert dev_key("pro") == "cbk_live_pro_dev_key_00000000000000000000"
    assert dev_key("premium") == "cbk_live_premium_dev_key_0000000000000000"
