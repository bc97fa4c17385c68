"""The pytest plugin, as an SDK author meets it: a fresh test file in a fresh directory, with
nothing but the installed toolkit (the plugin arrives through its pytest11 entry point)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

BOOK_TEST = """
import httpx

BODY = {"storyIdea": "A shy whale learns to sing.", "ageRange": "4-7",
        "style": "watercolor", "pageCount": 6, "tone": "heartwarming", "language": "english"}

def test_book_is_completed_after_the_clock_advances(FIXTURE):
    headers = {"x-api-key": FIXTURE.keys["pro"]}
    created = httpx.post(f"{FIXTURE.url}/v1/stories", json=BODY, headers=headers)
    FIXTURE.advance_clock(60)
    story = httpx.get(f"{FIXTURE.url}/v1/stories/{created.json()['data']['bookId']}",
                      headers=headers).json()["data"]
    assert story["status"] == "completed"
    assert len(story["pages"]) == BODY["pageCount"] - 1
"""

STATE_TESTS = """
import pytest

def test_first_spends_credits(FIXTURE):
    FIXTURE.set_usage("pro", credits_used=40)

def test_second_starts_clean(FIXTURE):
    assert FIXTURE.usage("pro")["creditsUsed"] == 0

@pytest.mark.cbk_keep_state
def test_third_keeps_what_the_first_left(FIXTURE):
    FIXTURE.set_usage("pro", credits_used=7)

@pytest.mark.cbk_keep_state
def test_fourth_sees_it(FIXTURE):
    assert FIXTURE.usage("pro")["creditsUsed"] == 7
"""

CLOCK_TESTS = """
import pytest

def test_default(FIXTURE):
    assert FIXTURE.clock()["mode"] == EXPECTED

@pytest.mark.cbk_clock("system")
def test_marked_system(FIXTURE):
    assert FIXTURE.clock()["mode"] == "system"

@pytest.mark.cbk_clock("manual")
def test_marked_manual(FIXTURE):
    assert FIXTURE.clock()["mode"] == "manual"
"""

BOTH = pytest.mark.parametrize("fixture", ["cbk_respx", "cbk_server"])
#: For runs in a subprocess: this venv's slow-to-import plugins that play no part here.
LEAN = ("-p", "no:locust", "-p", "no:schemathesis", "-p", "no:hypothesispytest")
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture(autouse=True)
def _quiet_ini(pytester):
    pytester.makeini(INI)


@BOTH
def test_fresh_test_file_creates_a_book_and_sees_it_completed(pytester, fixture):
    pytester.makepyfile(BOOK_TEST.replace("FIXTURE", fixture))
    pytester.runpytest().assert_outcomes(passed=1)


def test_async_test_drives_the_router_with_an_async_client(pytester):
    pytester.makepyfile(
        """
        import httpx, pytest

        @pytest.mark.asyncio
        async def test_story_is_pending(cbk_respx):
            async with httpx.AsyncClient(base_url=cbk_respx.url) as client:
                answer = await client.get(
                    "/v1/stories/00000000-0000-4000-8000-000000000000",
                    headers={"x-api-key": cbk_respx.keys["pro"]},
                )
            assert answer.json()["error"]["code"] == "NOT_FOUND"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@BOTH
def test_each_test_starts_from_a_clean_state_unless_marked_to_keep_it(pytester, fixture):
    pytester.makepyfile(STATE_TESTS.replace("FIXTURE", fixture))
    pytester.runpytest().assert_outcomes(passed=4)


@BOTH
def test_clock_mode_defaults_to_manual_and_follows_the_marker(pytester, fixture):
    pytester.makepyfile(CLOCK_TESTS.replace("FIXTURE", fixture).replace("EXPECTED", "'manual'"))
    pytester.runpytest().assert_outcomes(passed=3)


def test_clock_mode_follows_the_command_line_option(pytester):
    pytester.makepyfile(CLOCK_TESTS.replace("FIXTURE", "cbk_respx").replace("EXPECTED", "'system'"))
    pytester.runpytest("--cbk-clock", "system").assert_outcomes(passed=3)


def test_clock_mode_follows_the_ini_option(pytester):
    pytester.makeini(INI + "cbk_clock = system\n")
    pytester.makepyfile(
        CLOCK_TESTS.replace("FIXTURE", "cbk_server").replace("EXPECTED", "'system'")
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_unknown_clock_mode_is_a_usage_error(pytester):
    pytester.makepyfile(CLOCK_TESTS.replace("FIXTURE", "cbk_respx").replace("EXPECTED", "''"))
    result = pytester.runpytest("--cbk-clock", "sundial")
    result.stdout.fnmatch_lines(["*clock mode must be one of*sundial*"])


def test_router_options_come_from_the_cbk_respx_marker(pytester):
    pytester.makepyfile(
        """
        import httpx, pytest

        @pytest.mark.cbk_respx(base_url="http://sdk.test")
        def test_custom_base_url(cbk_respx):
            assert httpx.get("http://sdk.test/_mock/health").json()["data"]["status"] == "ok"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_unused_plugin_starts_nothing(pytester):
    pytester.makepyfile(
        """
        import sys, threading

        def test_plain():
            assert "mockserver.testing.respx_router" not in sys.modules
            assert not [t for t in threading.enumerate() if t.name.startswith("cbk-")]
        """
    )
    pytester.runpytest_subprocess(*LEAN).assert_outcomes(passed=1)


def test_plugin_module_imports_neither_httpx_nor_respx():
    code = (
        "import sys, mockserver.testing.pytest_plugin;"
        " print(sorted({'httpx', 'respx'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cbk_respx_without_respx_installed_fails_with_the_install_hint(pytester):
    pytester.makeconftest("import sys\nsys.modules['respx'] = None\n")
    pytester.makepyfile("def test_needs_router(cbk_respx):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:respx", *LEAN)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cbk_respx needs respx*childrenbooks-toolkit[[]sdk[]]*"])


def test_plugin_is_registered_through_its_entry_point(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--cbk-clock*"])


def test_loading_the_plugin_does_not_import_aiohttp_or_httpx():
    """Every pytest run in an environment with the toolkit loads the plugin: it must be cheap."""
    import subprocess
    import sys

    probe = (
        "import sys, mockserver.testing.pytest_plugin;"
        "print(sorted({'aiohttp', 'httpx'} & set(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_package_exports_resolve_lazily():
    import mockserver

    assert all(getattr(mockserver, name) for name in mockserver.__all__)
