"""The console in a real browser: Playwright driving Debian's Chromium against a live mock.

Each test starts from a reset mock, signs in with the admin token and fails on any console
error of the page. A screenshot of every page visited goes to
``.pytest_cache/console-screenshots/``. Without Chromium (``apt-get install -y chromium``) or
Playwright (the ``browser`` extra) the tests are skipped, saying so; ``CBK_REQUIRE_BROWSER=1``
(as in CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.testing.process import MockProcess, RunningMock
from tests.conftest import CREATE_BODY

CHROMIUM = os.environ.get("CBK_CHROMIUM", "/usr/bin/chromium")
#: No downloads, no first-run work, no background traffic: the browser talks to the mock only.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install 'childrenbooks-toolkit[browser]'"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CBK_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    problem = _unavailable()
    if problem:
        if os.environ.get("CBK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{problem} — CBK_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(f"{problem}; CI sets CBK_REQUIRE_BROWSER=1 to run these")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def live(browser) -> Iterator[RunningMock]:
    with MockProcess("--clock", "manual", "--no-access-log") as running:
        yield running


@pytest.fixture
def api(live: RunningMock) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30, trust_env=False) as client:
        client.post("/_mock/reset", headers=live.admin_headers).raise_for_status()
        yield client


def control(api: httpx.Client, live: RunningMock, method: str, path: str, body=None):
    reply = api.request(method, f"/_mock/{path}", json=body, headers=live.admin_headers)
    reply.raise_for_status()
    return reply.json()["data"]


class Console:
    """The signed-in page, its console errors and its screenshots."""

    def __init__(self, page, live: RunningMock, shots: Path) -> None:
        self.page = page
        self.live = live
        self.shots = shots
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, section: str) -> None:
        self.page.goto(f"{self.live.url}/_mock/ui/#/{section}")
        self.page.locator(f"[data-section='{section}'].active").wait_for()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"))


@pytest.fixture
def console(browser, live, api, request) -> Iterator[Console]:
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    shots = Path(request.config.rootpath) / ".pytest_cache" / "console-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    opened = Console(page, live, shots)
    page.goto(f"{live.url}/_mock/ui/")
    page.fill("#admin-token", live.admin_token)
    page.click("button[type=submit]")
    page.locator(".sidebar").wait_for()
    yield opened
    context.close()
    assert opened.errors == [], f"the page logged errors: {opened.errors}"


def test_a_book_made_through_the_api_completes_when_the_console_moves_the_clock(console, api):
    from playwright.sync_api import expect

    pro = {"x-api-key": console.live.keys["pro"]}
    book = api.post("/v1/stories", json=CREATE_BODY, headers=pro).json()["data"]["bookId"]
    console.open("library")
    card = console.page.locator(f"[data-book='{book}']")
    expect(card).to_have_attribute("data-status", "pending")
    console.open("clock")
    console.page.click("[data-advance='60']")
    expect(console.page.get_by_test_id("clock-face")).to_have_text("09:01:00.000")
    console.open("library")
    expect(card).to_have_attribute("data-status", "completed")
    card.click()
    expect(console.page.locator(".page img")).to_have_count(CREATE_BODY["pageCount"] - 1)
    console.shot("library-book")


def test_a_key_rotated_in_the_console_is_refused_on_the_next_request(console, api):
    from playwright.sync_api import expect

    console.open("users")
    console.page.select_option("[data-testid='create-user'] select[name='plan']", "pro")
    console.page.click("[data-testid='create-user'] button[type=submit]")
    first_key = console.page.get_by_test_id("issued-api-key").inner_text()
    reply = api.get(f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": first_key})
    assert reply.status_code == 404
    key_id = console.page.get_by_test_id("issued-key").get_attribute("data-key-id")
    console.page.locator(f"[data-key='{key_id}'] [data-action='rotate']").click()
    rotated = console.page.get_by_test_id("issued-api-key")
    expect(rotated).not_to_have_text(first_key)
    expect(console.page.locator(f"[data-key='{key_id}']")).to_have_attribute(
        "data-state", "revoked"
    )
    refused = api.get(f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": first_key})
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "INVALID_API_KEY")
    accepted = api.get(f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": rotated.inner_text()})
    assert accepted.status_code == 404
    console.shot("users-rotated")


def test_a_downgrade_to_free_in_the_console_revokes_every_key(console, api):
    from playwright.sync_api import expect

    user = control(api, console.live, "POST", "users", {"plan": "premium", "name": "Downgraded"})
    console.open("users")
    console.page.once("dialog", lambda dialog: dialog.accept())
    console.page.select_option(f"[data-user='{user['userId']}'] select.plan-select", "free")
    row = console.page.locator(f"[data-key='{user['keyId']}']")
    expect(row).to_have_attribute("data-state", "revoked")
    refused = api.get(f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": user["apiKey"]})
    assert refused.json()["error"]["code"] == "INVALID_API_KEY"


def test_a_429_shows_in_the_journal_with_its_check_and_reset(console, api):
    from playwright.sync_api import expect

    pro = {"x-api-key": console.live.keys["pro"]}
    limit = int(api.get(f"/v1/stories/{UNKNOWN_ID}", headers=pro).headers["x-ratelimit-limit"])
    for _ in range(limit):
        api.get(f"/v1/stories/{UNKNOWN_ID}", headers=pro)
    (refused,) = control(api, console.live, "GET", "requests?status=429")
    console.open("journal")
    console.page.locator(f"tr[data-seq='{refused['seq']}']").click()
    expect(console.page.get_by_test_id("verdict-check")).to_have_text("perMinuteLimit")
    expect(console.page.get_by_test_id("verdict-reset")).to_contain_text(refused["resetsAt"])
    expect(console.page.get_by_test_id("exchange-response")).to_contain_text("RATE_LIMIT_EXCEEDED")
    console.shot("journal-429")


def test_usage_meters_match_the_control_api(console, api):
    from playwright.sync_api import expect

    pro = {"x-api-key": console.live.keys["pro"]}
    api.post("/v1/stories", json=CREATE_BODY, headers=pro)
    for _ in range(4):
        api.get(f"/v1/stories/{UNKNOWN_ID}", headers=pro)
    usage = control(api, console.live, "GET", "users/user_dev_pro/usage")
    console.open("usage")
    card = console.page.locator(".usage-card[data-user='user_dev_pro']")
    used = usage["requestsPerMinute"] - usage["requestsRemaining"]
    expected = {
        "meter-requests": (used, usage["requestsPerMinute"]),
        "meter-books": (usage["booksToday"], usage["booksPerDay"]),
        "meter-credits": (usage["creditsUsed"], usage["monthlyCredits"]),
    }
    for meter, (value, most) in expected.items():
        expect(card.get_by_test_id(meter)).to_have_attribute("data-used", str(value))
        expect(card.get_by_test_id(meter)).to_have_attribute("data-max", str(most))
    left = f"{usage['requestsRemaining']} of {usage['requestsPerMinute']} left"
    expect(card.get_by_test_id("meter-requests")).to_contain_text(left)
    expect(card.get_by_test_id("meter-requests")).to_contain_text(
        f"resets in {usage['windowResetSeconds']} s"
    )
    console.shot("usage")


def test_a_scenario_queued_in_the_console_answers_the_next_request(console, api):
    from playwright.sync_api import expect

    console.open("scenarios")
    console.page.select_option("[data-testid='queue-error'] select[name='status']", "503")
    console.page.click("[data-testid='queue-error'] button[type=submit]")
    expect(console.page.get_by_test_id("scenario-queue")).to_contain_text("503")
    forced = api.get(f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": console.live.keys["pro"]})
    assert forced.status_code == 503
    expect(console.page.get_by_test_id("scenario-queue")).to_contain_text("Nothing queued")


@pytest.mark.parametrize("section", ["library", "users", "usage", "clock", "scenarios", "journal"])
def test_every_page_opens_without_console_errors(console, api, section):
    pro = {"x-api-key": console.live.keys["pro"]}
    api.post("/v1/stories", json=CREATE_BODY, headers=pro)
    console.open(section)
    console.page.wait_for_load_state("networkidle")
    console.shot(section)
    assert console.errors == []
