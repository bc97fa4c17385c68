"""The README's first walk-through, end to end over real HTTP."""

from mockserver.testing.process import MockProcess


async def test_created_book_is_polled_to_completed(client, pro_headers, create_body, mock):
    created = await client.post("/v1/stories", json=create_body, headers=pro_headers)
    assert created.status_code == 202
    book_id = created.json()["data"]["bookId"]
    await mock.service.clock.advance(60)
    story = (await client.get(f"/v1/stories/{book_id}", headers=pro_headers)).json()["data"]
    assert story["status"] == "completed"
    assert len(story["pages"]) == create_body["pageCount"] - 1
    image = await client.get(story["pages"][0]["imageUrl"])
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_cli_serves_on_a_free_port_and_writes_the_keys_file():
    import httpx

    with MockProcess() as running:
        assert set(running.keys) == {"pro", "premium", "free", "revoked", "other"}
        health = httpx.get(f"{running.url}/_mock/health")
        assert health.json()["data"]["status"] == "ok"
