"""Repository-wide pytest set-up: markers shared by the project's tests and the contract suite."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "mock_config(**overrides): MockConfig fields for the in-process `mock` fixture"
    )
    config.addinivalue_line("markers", "redis: needs a real Redis server (CBK_REDIS_URL)")
