"""What tests use to run and drive the mock: the in-process respx router, the pytest plugin,
the stdlib-only control client (``sdk_kit``) and the process launcher (``process``).

Nothing is imported here, so ``mockserver.testing.sdk_kit`` stays stdlib-only and the pytest
plugin, loaded by every pytest run, costs nothing until a fixture is used.
"""
