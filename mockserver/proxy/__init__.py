"""The validating proxy (``cbk-mock proxy``) and parity of recordings (``cbk-mock parity``).

Framework-free: ``checks`` (what every exchange is judged by), ``recording`` (cassettes),
``parity`` (replaying them against the mock's gateway) and ``inspector`` (sessions, reports,
``--strict``, following a cbk-mock upstream). The aiohttp adapter is ``server``; ``cli`` holds the
two commands, registered by ``mockserver.serve.cli``. See ``docs/proxy.md``.
"""
