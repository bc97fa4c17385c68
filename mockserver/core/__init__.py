"""Framework-free domain of the mock: users, keys, books, jobs, clock, limits, idempotency.

Nothing here imports aiohttp or httpx; the adapters (``mockserver.aiohttp_app``,
``mockserver.respx_router``) translate their requests into ``mockserver.gateway`` calls.
"""
