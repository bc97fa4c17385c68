"""The ceiling for the benchmark: a bare aiohttp server answering each route with a fixed JSON
body of a given size — what this stack costs before the mock does any work.

``python -m loadtests.bare --route GET:/poll:200:1575 --route POST:/create:202:196 ...`` prints
``bare listening on URL`` once it serves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from aiohttp import web

BANNER = "bare listening on "
JSON_TYPE = "application/json; charset=utf-8"


def json_body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least the smallest such object)."""
    skeleton = json.dumps({"ok": True, "pad": ""}).encode()
    return json.dumps({"ok": True, "pad": "x" * max(0, size - len(skeleton))}).encode()


def _handler(status: int, body: bytes):
    async def handle(request: web.Request) -> web.Response:
        if request.body_exists:
            await request.read()
        return web.Response(status=status, body=body, content_type="application/json")

    return handle


async def serve(routes: list[tuple[str, str, int, int]], host: str, port: int) -> None:
    app = web.Application()
    for method, path, status, size in routes:
        app.router.add_route(method, path, _handler(status, json_body(size)))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"{BANNER}http://{host}:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def _route(text: str) -> tuple[str, str, int, int]:
    method, path, status, size = text.split(":")
    return method, path, int(status), int(size)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bare", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--route", type=_route, action="append", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.route, args.host, args.port))


if __name__ == "__main__":
    main()
