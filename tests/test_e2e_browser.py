"""End to end in headless Chromium: a collector logs in, presses Get Next, logs a call with a
promise to pay, and sees it on the case timeline.

Uses Debian's /usr/bin/chromium (installed by `make test` when missing) through Playwright.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.contact.models import ContactAttempt
from qingshou.payments.models import Promise
from qingshou.portfolio.models import CaseEvent
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env):
    return World()






def test_collector_get_next_and_log_a_promise(browser_world, live_server, page):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)

    login(page, base, "c1")
    assert page.url.endswith("/cases/mine/")
    assert "我的案件" in page.content()
    assert w.case.account_number in page.content()
    page.screenshot(path=str(SHOTS / "e2e-queue.png"), full_page=True)

    # Get Next with the keyboard shortcut.
    page.keyboard.press("n")
    page.wait_for_url(f"**/cases/{w.case.pk}/")
    w.case.refresh_from_db()
    assert w.case.locked_by_id == w.collector.pk

    # The full phone number is not on the page.
    debtor_phone = w.case.debtor.parties.get(relation="self").phones.first()
    assert debtor_phone.number not in page.content()

    # Log a call with a promise to pay: the promise fields appear only for 承诺还款.
    assert not page.is_visible("#id_promise_amount")
    page.select_option("#id_outcome", label="承诺还款")
    page.wait_for_selector("#id_promise_amount", state="visible")
    due = timezone.localdate() + timedelta(days=3)
    page.fill("#id_promise_amount", "2000")
    page.fill("#id_promise_due_date", due.isoformat())
    page.fill("#id_notes", "本人承诺三天内还款两千元。")
    page.check("#id_institution_stated")  # CN first conversation: the institution was stated at the opening
    page.click("#log-form button[type=submit]")
    page.wait_for_load_state()

    # It is on the timeline, and in the database.
    timeline = page.inner_text(".timeline")
    assert "承诺还款" in timeline and "2,000.00" in timeline
    page.screenshot(path=str(SHOTS / "e2e-case-after-promise.png"), full_page=True)
    contact = ContactAttempt.objects.get(case=w.case)
    assert contact.outcome.code == "ptp" and contact.collector == w.collector
    promise = Promise.objects.get(case=w.case)
    assert promise.amount == Decimal("2000.00") and promise.due_date == due
    assert CaseEvent.objects.filter(case=w.case, type="promise_made").exists()


def test_refused_call_is_explained_in_the_browser(browser_world, live_server, page):
    w = browser_world
    login(page, live_server.url, "c1")
    page.goto(f"{live_server.url}/cases/{w.case.pk}/")
    late = timezone.localtime().replace(hour=23, minute=15) - timedelta(days=1)
    page.select_option("#id_outcome", label="无人接听")
    page.fill("#id_started_at", late.strftime("%Y-%m-%dT%H:%M"))
    page.click("#log-form button[type=submit]")
    page.wait_for_selector(".refusal")
    text = page.inner_text(".refusal")
    assert "08:00" in text and "22:00" in text
    assert not ContactAttempt.objects.filter(case=w.case).exists()
