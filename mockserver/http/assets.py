"""Illustrations as the real API's storage host serves them (``/assets/{bookId}/{file}``; not in
openapi.yaml), and under ``/_mock/ui/assets/`` for the console, whose own image loads must not
fill the request journal with the console's traffic."""

from __future__ import annotations

from mockserver.core.errors import ApiError
from mockserver.core.service import MockService
from mockserver.http.messages import HttpReply

ASSET_PATH = "/assets/{bookId}/{file}"


async def asset_reply(service: MockService, book_id: str, file: str) -> HttpReply:
    name = file.removesuffix(".png")
    if name == file:
        raise ApiError("NOT_FOUND", "Asset not found.")
    png = await service.asset(book_id, name, await service.now())
    return HttpReply(200, {"content-type": "image/png", "cache-control": "max-age=86400"}, png)
