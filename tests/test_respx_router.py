"""The respx router: the mock's gateway behind httpx, for sync and async clients alike.

HTTP behaviour itself is compared with the live server in test_parity.py; these tests cover what
only the adapter can get wrong: which loop runs the mock, patching modes, routing precedence
and the router's life cycle.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from respx.models import AllMockedAssertionError

from mockserver.testing.respx_router import ChildrenBooksRouter, InProcessMock, production_url
from mockserver.testing.sdk_kit import MockControlError


def test_router_answers_at_the_production_url_by_default(cbk_respx):
    assert cbk_respx.url == production_url()
    answer = httpx.get(f"{production_url()}/v1/stories/not-a-uuid", headers=_pro(cbk_respx))
    assert answer.json()["error"]["fields"].keys() == {"id"}


def test_sync_client_follows_a_book_to_completed_as_the_clock_advances(cbk_respx, create_body):
    with httpx.Client(base_url=cbk_respx.url, headers=_pro(cbk_respx)) as client:
        book_id = client.post("/v1/stories", json=create_body).json()["data"]["bookId"]
        assert client.get(f"/v1/stories/{book_id}").json()["data"]["status"] == "pending"
        cbk_respx.advance_clock(60)
        story = client.get(f"/v1/stories/{book_id}").json()["data"]
    assert story["status"] == "completed"
    assert len(story["pages"]) == create_body["pageCount"] - 1


async def test_async_client_follows_a_book_to_completed_as_the_clock_advances(
    cbk_respx, create_body
):
    async with httpx.AsyncClient(base_url=cbk_respx.url, headers=_pro(cbk_respx)) as client:
        created = await client.post("/v1/stories", json=create_body)
        cbk_respx.advance_clock(60)
        story = (await client.get(f"/v1/stories/{created.json()['data']['bookId']}")).json()
    assert story["data"]["status"] == "completed"


async def test_async_client_waits_for_the_mock_without_blocking_its_event_loop(cbk_respx):
    async with httpx.AsyncClient(base_url=cbk_respx.url, headers=_pro(cbk_respx)) as client:
        slow = asyncio.create_task(
            client.get("/v1/stories/x", headers={"X-Mock-Scenario": "delay-ms=5000"})
        )
        await asyncio.sleep(0)
        fast = await client.get("/v1/stories/x")
        assert fast.status_code == 400
        assert not slow.done()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow


async def test_concurrent_async_creates_with_one_idempotency_key_make_one_book(
    cbk_respx, create_body
):
    headers = {**_pro(cbk_respx), "Idempotency-Key": "one-book"}
    async with httpx.AsyncClient(base_url=cbk_respx.url, headers=headers) as client:
        answers = await asyncio.gather(
            *(client.post("/v1/stories", json=create_body) for _ in range(8))
        )
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["data"]["bookId"] for a in answers}) == 1
    assert cbk_respx.usage()["booksToday"] == 1


def test_sync_clients_in_many_threads_share_one_exact_rate_limit(cbk_respx):
    with httpx.Client(base_url=cbk_respx.url, headers=_pro(cbk_respx)) as client:
        limit = int(client.get("/v1/stories/x").headers["x-ratelimit-limit"])
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: client.get("/v1/stories/x"), range(limit + 9)))
    assert [a.status_code for a in answers].count(429) == 10


async def test_sync_client_called_inside_an_async_test_is_answered(cbk_respx):
    answer = httpx.get(f"{cbk_respx.url}/v1/stories/x", headers=_pro(cbk_respx))
    assert answer.status_code == 400


@pytest.mark.cbk_respx(using="httpx")
def test_using_httpx_answers_a_client_that_brings_its_own_transport(cbk_respx):
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the SDK's own transport was used for {request.url}")

    transport = httpx.MockTransport(no_network)
    with httpx.Client(transport=transport, headers=_pro(cbk_respx)) as client:
        answer = client.get(f"{cbk_respx.url}/v1/stories/x")
    assert answer.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_router_mounts_as_an_async_transport_without_patching(create_body):
    router = ChildrenBooksRouter(using=None)
    transport = httpx.MockTransport(router.async_handler)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=router.url) as client:
            created = await client.post("/v1/stories", json=create_body, headers=_pro(router))
    finally:
        router.close()
    assert created.status_code == 202


def test_router_mounts_as_a_sync_transport_without_patching(create_body):
    router = ChildrenBooksRouter(using=None, base_url="http://sdk.test")
    try:
        with httpx.Client(transport=httpx.MockTransport(router.handler)) as client:
            created = client.post(
                "http://sdk.test/v1/stories", json=create_body, headers=_pro(router)
            )
    finally:
        router.close()
    assert created.status_code == 202


def test_requests_to_other_hosts_are_refused_not_sent(cbk_respx):
    with pytest.raises(AllMockedAssertionError):
        httpx.get("https://example.invalid/v1/stories")


def test_routes_a_test_adds_take_precedence_over_the_mock(cbk_respx, create_body):
    cbk_respx.post("/v1/stories").mock(side_effect=httpx.ConnectError)
    with httpx.Client(base_url=cbk_respx.url, headers=_pro(cbk_respx)) as client:
        with pytest.raises(httpx.ConnectError):
            client.post("/v1/stories", json=create_body)
        assert client.get("/v1/stories/x").status_code == 400


def test_a_route_can_forward_to_the_mock_and_then_lose_the_answer(cbk_respx, create_body):
    def answer_then_drop(request: httpx.Request) -> httpx.Response:
        cbk_respx.handle(request)
        raise httpx.ReadTimeout("answer lost", request=request)

    cbk_respx.post("/v1/stories").mock(side_effect=answer_then_drop)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{cbk_respx.url}/v1/stories", json=create_body, headers=_pro(cbk_respx))
    assert cbk_respx.usage()["booksToday"] == 1


def test_control_api_urls_answer_in_process_too(cbk_respx):
    answer = httpx.post(
        f"{cbk_respx.url}/_mock/clock/advance",
        json={"seconds": 90},
        headers={"X-Mock-Admin-Token": cbk_respx.admin_token},
    )
    assert answer.json()["data"] == cbk_respx.clock()


def test_refused_control_call_raises_with_the_control_api_error(cbk_respx):
    with pytest.raises(MockControlError) as refused:
        cbk_respx.advance_clock(-1)
    assert (refused.value.status, refused.value.code) == (400, "VALIDATION_ERROR")
    assert "seconds" in refused.value.fields


def test_head_answer_has_no_body(cbk_respx):
    answer = httpx.head(f"{cbk_respx.url}/v1/stories")
    assert (answer.status_code, answer.content) == (405, b"")


def test_close_stops_the_mock_loop_and_refuses_further_calls():
    mock = InProcessMock()
    loop_thread = mock._thread
    mock.close()
    assert not loop_thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        mock.run(mock.service.now())


def test_a_dropped_router_stops_its_loop_thread():
    router = ChildrenBooksRouter()
    loop_thread = router.mock._thread
    del router
    gc.collect()
    loop_thread.join(timeout=10)
    assert not loop_thread.is_alive()


def test_the_plugins_mock_loop_is_the_only_thread_touching_state(cbk_respx):
    seen: set[str] = set()
    original = cbk_respx.mock.service.now

    async def spy() -> float:
        seen.add(threading.current_thread().name)
        return await original()

    cbk_respx.mock.service.now = spy
    try:
        httpx.get(f"{cbk_respx.url}/v1/stories/x", headers=_pro(cbk_respx))
        asyncio.run(_async_get(cbk_respx.url, _pro(cbk_respx)))
        cbk_respx.clock()
    finally:
        del cbk_respx.mock.service.now
    assert seen == {"cbk-mock-loop"}


async def _async_get(url: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(headers=headers) as client:
        await client.get(f"{url}/v1/stories/x")


def _pro(mock) -> dict[str, str]:
    return {"x-api-key": mock.keys["pro"]}
