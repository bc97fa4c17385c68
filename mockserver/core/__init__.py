"""Framework-free domain of the mock: users, keys, books, jobs, clock, limits, idempotency.

Nothing here imports aiohttp or httpx; the adapters (``mockserver.serve.app``,
``mockserver.testing.respx_router``) translate their requests into ``mockserver.http.gateway``
calls.
"""
