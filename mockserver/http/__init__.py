"""HTTP semantics of the mock, framework-free: the gateway, messages and the envelope, routing
read from the documents, the control API, response conformance and the rate-limit auditor.

Imports point down only: this package uses ``mockserver.core`` and ``mockserver.spec``, and
nothing here imports aiohttp, httpx or respx; the adapters in ``mockserver.serve`` and
``mockserver.testing`` translate their requests into these calls.
"""
