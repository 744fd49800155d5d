"""End to end in headless Chromium: after the debtor asks not to be called again today, a collector
is refused a third call to the same number, sees the reason and the next allowed time (before
submitting, in the pre-check, and after trying anyway); the supervisor then sees the refusal on the
compliance screens.

Uses Debian's /usr/bin/chromium through Playwright (fixtures as in test_e2e_browser.py).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from qingshou.compliance.models import ComplianceDecision
from qingshou.contact.models import ContactAttempt
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env):
    from qingshou.compliance.policies import ensure_seed_layers, invalidate

    # Transactional tests flush the data migration's rows: put the published policy layers back.
    ensure_seed_layers()
    invalidate()
    return World()






def log_call(page, outcome_label, minutes_ago):
    page.select_option("#id_outcome", label=outcome_label)
    at = timezone.localtime() - timedelta(minutes=minutes_ago)
    page.fill("#id_started_at", at.strftime("%Y-%m-%dT%H:%M"))
    page.click("#log-form button[type=submit]")
    page.wait_for_load_state()


def test_stop_today_then_a_further_call_is_refused_and_explained(browser_world, live_server, page):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    login(page, base, "c1")
    page.goto(f"{base}/cases/{w.case.pk}/")
    # The pre-check says the debtor's number may be called now; the call button is enabled.
    page.wait_for_selector("#precheck .pc-ok")
    assert "可以联系" in page.inner_text("#precheck")
    assert page.is_enabled("#call-btn")
    page.click("#call-btn")                                   # no dialer yet: it takes us to the outcome
    assert page.evaluate("document.activeElement.id") == "id_outcome"
    page.screenshot(path=str(SHOTS / "e2e-compliance-precheck-ok.png"), full_page=True)

    # First call: no answer. Second call: the debtor asks not to be called again today.
    log_call(page, "无人接听", 50)
    assert "催记已保存" in page.content()
    log_call(page, "要求今日停止联系", 30)
    assert "催记已保存" in page.content()
    assert ContactAttempt.objects.filter(case=w.case).count() == 2

    # Before submitting anything, the pre-check already refuses, with the reason and the next time.
    page.wait_for_selector("#precheck .pc-no")
    pre = page.inner_text("#precheck")
    assert "现在不可联系" in pre and "今日已要求停止联系" in pre and "下次可联系时间" in pre
    assert tomorrow in pre
    assert page.is_disabled("#call-btn")
    decisions_before = ComplianceDecision.objects.count()        # the pre-check stores nothing
    page.screenshot(path=str(SHOTS / "e2e-compliance-precheck-refused.png"), full_page=True)

    # Changing the channel re-checks: "stop today" does not stop a letter (a letter needs an approved
    # template instead, which the log-contact form cannot attach yet).
    page.select_option("#id_channel", "letter")
    page.wait_for_function("!document.querySelector('#precheck').innerText.includes('今日已要求停止联系')")
    assert "模板" in page.inner_text("#precheck")
    page.select_option("#id_channel", "call")
    page.wait_for_function("document.querySelector('#precheck').innerText.includes('今日已要求停止联系')")
    assert ComplianceDecision.objects.count() == decisions_before

    # Trying anyway: refused, not saved, the reason in Chinese and the next allowed time.
    log_call(page, "无人接听", 2)
    page.wait_for_selector(".refusal")
    text = page.inner_text(".refusal")
    assert "合规检查不允许此次联系" in text and "今日已要求停止联系" in text
    assert tomorrow in page.inner_text(".refusal .next-allowed")
    assert ContactAttempt.objects.filter(case=w.case).count() == 2
    refused = ComplianceDecision.objects.get(allowed=False)
    assert any(r["rule"].endswith("stop_today") for r in refused.reasons)
    page.screenshot(path=str(SHOTS / "e2e-compliance-refused.png"), full_page=True)

    # The supervisor sees it on the compliance screens.
    login(page, base, "sup")
    page.goto(f"{base}/compliance/decisions/")
    table = page.inner_text("#decision-table")
    assert "已拒绝" in table and "今日已要求停止联系" in table and w.case.account_number in table
    page.screenshot(path=str(SHOTS / "compliance-decisions.png"), full_page=True)
    page.goto(f"{base}/compliance/refusals/")
    assert "今日已要求停止联系" in page.inner_text("#refusal-table")
    page.screenshot(path=str(SHOTS / "compliance-refusals.png"), full_page=True)
    page.click("#refusal-table td.hit a >> nth=0")
    page.wait_for_load_state()
    assert page.locator("#decision-table tbody tr").count() == 1
    page.goto(f"{base}/compliance/policies/")
    assert "联系时段" in page.inner_text("#policy-matrix")
    page.screenshot(path=str(SHOTS / "compliance-policies.png"), full_page=True)

    # Publish a stricter house rule through the form and read the diff.
    page.goto(f"{base}/compliance/policies/house/")
    page.fill("#policy-form input[name=max_calls_per_party_day]", "4")
    page.fill("#policy-form input[name=note]", "委托方要求：每人每日最多 4 次")
    page.click("#policy-form button[type=submit]")
    page.wait_for_selector("#diff")
    diff = page.inner_text("#diff")
    assert "每人每日拨打次数" in diff and "5" in diff and "4" in diff
    page.screenshot(path=str(SHOTS / "compliance-policy-house.png"), full_page=True)
