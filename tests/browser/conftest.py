"""Browser tests: a real server process on a seeded database, driven by Chromium.

A missing browser is a failure, never a skip: `make test` installs one first.
"""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from credit_self.config import PROJECT_ROOT
from credit_self.db import make_engine
from credit_self.seeding import DEMO_PASSWORD
from tests.conftest import STAFF, unused_totp_code
from tests.browser.find_chromium import find_chromium

pytestmark = pytest.mark.browser

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 800}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
_axe = Axe()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer(str):
    """The server's base URL, also carrying the URL of the database it serves."""

    def __new__(cls, base_url: str, database_url: str):
        server = super().__new__(cls, base_url)
        server.database_url = database_url
        return server


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, databases):
    """`flask run` in its own process on a copy of the seeded database."""
    database_url = databases.new(f"live_{os.getpid()}")
    port = _free_port()
    env = dict(
        os.environ,
        CREDIT_SELF_DATABASE_URL=database_url,
        CREDIT_SELF_SECRET_KEY="browser-test-secret",
        CREDIT_SELF_RATELIMIT_ENABLED="0",
        CREDIT_SELF_EVIDENCE_DIR=str(tmp_path_factory.mktemp("evidence")),
        FLASK_APP="app",
    )
    log = open(tmp_path_factory.mktemp("logs") / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "run", "--port", str(port), "--no-reload"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base_url + "/login", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"server did not start; see {log.name}")
            time.sleep(0.2)
    yield LiveServer(base_url, database_url)
    process.terminate()
    process.wait(timeout=10)
    log.close()
    databases.drop(database_url)


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    assert executable, "No Chromium found: run `make test`, which installs Debian's chromium"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def _new_page(browser, live_server, **context_options) -> Page:
    context = browser.new_context(viewport=PHONE, base_url=live_server, **context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Never hang a CI run: every wait, evaluation included, gives up after 10 s.
    context.set_default_timeout(10_000)
    return page


@pytest.fixture
def page(browser, live_server):
    p = _new_page(browser, live_server)
    yield p
    p.context.close()


@pytest.fixture
def page_without_js(browser, live_server):
    p = _new_page(browser, live_server, java_script_enabled=False)
    yield p
    p.context.close()


def staff_sign_in(page: Page, live_server: LiveServer, role: str) -> None:
    """Sign in as the demo staff account of this role: the password, then a code from its
    authenticator app (the demo secret), as a person would type them."""
    page.goto("/admin/login")
    page.fill("#username", STAFF[role])
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    engine = make_engine(live_server.database_url)
    try:
        with engine.begin() as conn:
            code = unused_totp_code(conn, role, datetime.now(timezone.utc))
    finally:
        engine.dispose()
    page.get_by_label(re.compile("code", re.I)).fill(code)
    page.locator("main button[type=submit]").click()


def assert_no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 360px wide"


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violations."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"axe violations on {page.url}:\n" + "\n".join(bad)


def check_page(page: Page) -> None:
    """Every page in a journey: fits a phone, passes axe."""
    assert_no_horizontal_scroll(page)
    assert_accessible(page)


def open_menu(page: Page) -> None:
    """Open the header's menu (navigation, account, sign out), as a person taps "Menu"."""
    menu = page.locator("header details.menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()


def text_of(page: Page, selector: str) -> str:
    return re.sub(r"\s+", " ", page.locator(selector).first.inner_text()).strip()


def scripts_loaded(page: Page) -> None:
    """Wait until the page's scripts have run: base.html adds them after the first paint,
    so a test that moves the page's clock must not move it before they set their timers."""
    page.locator("html[data-scripts-loaded]").wait_for(state="attached")


def sign_in(page: Page, who: str) -> None:
    """Sign in as a demo persona and land on their record."""
    from playwright.sync_api import expect

    from tests.conftest import persona

    p = persona(who)
    page.goto("/login")
    page.fill("#id_number", p["id_number"])
    page.fill("#password", p["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Your record")
