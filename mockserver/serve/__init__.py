"""The live server: the aiohttp adapter over ``mockserver.http``, the ``cbk-mock`` command
line, TLS and worker processes."""
