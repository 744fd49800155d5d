"""Shared pieces of the end-to-end tests in headless Chromium (Debian's /usr/bin/chromium via Playwright)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(os.environ.get("QINGSHOU_SHOTS", "var/test/shots"))

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make test installs it)"),
]


@pytest.fixture(scope="session", autouse=True)
def _live_server_one_request_at_a_time():
    """SQLite: the test database is in memory, and Django hands the test's one connection to the live server,
    whose request threads then share it: two requests at once (a page's HTMX fragments loading together) may
    read each other's rows off that connection ("list index out of range" while loading a session, seen in
    the e2e compliance test). There the live server answers one request at a time: Django's plain WSGIServer,
    which closes each connection after its response. PostgreSQL gives every thread its own connection."""
    if os.environ.get("DB", "sqlite") != "sqlite":
        yield
        return
    from django.core.servers.basehttp import WSGIServer
    from django.test.testcases import LiveServerThread

    class SerialWSGIServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.connections_override = connections_override  # the thread serving requests already uses them

    before = LiveServerThread.server_class
    LiveServerThread.server_class = SerialWSGIServer
    yield
    LiveServerThread.server_class = before


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(15000)
        yield pg
        # ORM calls made while Playwright's loop runs get their own connection; close it here, in that
        # same context, or PostgreSQL cannot drop the test database at the end.
        from django.db import connections

        connections.close_all()
        browser.close()


@pytest.fixture
def browser_env(office_hours, transactional_db, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's ORM calls are plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def login(page, base, username, password="pw-test-123456"):
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_load_state()
