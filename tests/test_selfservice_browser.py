"""End to end in headless Chromium on a phone-sized screen (390×844): the debtor opens the link, fails the
identity check once, passes it, sees their masked debt and makes a promise to pay; also the staff page that
issues links. Screenshots go to var/test/shots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qingshou.payments.models import Promise
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env):
    from qingshou.compliance.policies import ensure_seed_layers, invalidate

    ensure_seed_layers()
    invalidate()
    return World()


def test_debtor_makes_a_promise_on_a_phone(browser_world, live_server, page):
    from qingshou.selfservice.actions import do_issue_link

    w = browser_world
    SHOTS.mkdir(parents=True, exist_ok=True)
    issued = do_issue_link(w.case, acting_user=w.collector, base_url=live_server.url)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(issued.url)
    assert "身份验证" in page.inner_text("h1")
    page.fill("input[name=id_last4]", "0000")
    page.fill("input[name=birth_date]", "1990-01-01")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "还可尝试" in page.inner_text(".ss-alert")
    page.screenshot(path=str(SHOTS / "selfservice-verify-failed-390.png"), full_page=True)

    page.fill("input[name=id_last4]", w.case.debtor.id_number[-4:])
    page.fill("input[name=birth_date]", "1990-01-01")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert "我的账户" in body and "12,000.00" in body and "****" + w.case.account_number[-4:] in body
    assert w.case.account_number not in body
    # nothing overflows the phone's width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "selfservice-home-390.png"), full_page=True)

    day = (timezone.localdate() + timedelta(days=7)).isoformat()
    page.fill("#promise input[name=amount]", "1500")
    page.fill("#promise input[name=due_date]", day)
    page.click("#promise button[type=submit]")
    page.wait_for_load_state()
    assert "还款承诺已记录" in page.inner_text(".ss-msg")
    assert "1,500.00" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "selfservice-promise-390.png"), full_page=True)
    promise = Promise.objects.get(case=w.case)
    assert str(promise.amount) == "1500.00" and promise.due_date.isoformat() == day

    # the staff side: the collector sees the link, its counts, and can issue another
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server.url, "c1")
    page.goto(f"{live_server.url}/s/staff/cases/{w.case.pk}/links/")
    assert "自助服务链接" in page.inner_text("h1")
    cells = page.inner_text("#links tbody")
    assert "有效" in cells
    page.screenshot(path=str(SHOTS / "selfservice-staff-links.png"), full_page=True)
