"""End to end in headless Chromium: a collector works out a repayment plan with the calculator on the
case page and proposes it; the team leader approves it; the creditor's user approves it in their own
view; the plan is then running. Screenshots of each page go to SHOTS.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.arrangements.models import RepaymentPlan
from tests.browser import SHOTS, browser_marks, login
from tests.factories import World

pytestmark = browser_marks


@pytest.fixture
def browser_world(browser_env):
    from qingshou.compliance.policies import ensure_seed_layers, invalidate

    ensure_seed_layers()
    invalidate()
    return World()


def test_plan_proposed_by_collector_approved_by_leader_then_creditor(browser_world, live_server, page):
    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    start = (timezone.localdate() + timedelta(days=5)).isoformat()

    # The collector opens the case: the plans card is there; the calculator shows the schedule live.
    login(page, base, "c1")
    page.goto(f"{base}/cases/{w.case.pk}/")
    page.wait_for_selector("#arrangements")
    assert "还款计划与减免" in page.inner_text("#arrangements")
    page.click("#propose-plan")
    page.wait_for_selector("#plan-form")
    page.fill("#id_instalments", "6")
    page.fill("#id_first_payment", "2000")
    page.fill("#id_start_date", start)
    page.dispatch_event("#id_start_date", "change")
    page.wait_for_function("document.querySelectorAll('#schedule-table tbody tr').length === 6")
    assert "在委托方的限额内" in page.inner_text("#limits-verdict")
    assert page.inner_text("#schedule-total").strip() == "12,000.00"
    # Too small a first payment: the calculator says why, before anything is proposed.
    page.fill("#id_first_payment", "100")
    page.wait_for_selector("#limits-verdict.bad")
    assert "首付款至少为" in page.inner_text("#limits-verdict")
    page.fill("#id_first_payment", "2000")
    page.wait_for_selector("#limits-verdict.ok")
    page.select_option("#id_hardship_reason", "illness")
    page.fill("#id_hardship_detail", "住院治疗三个月")
    page.fill("#id_note", "客户有稳定收入恢复预期")
    page.screenshot(path=str(SHOTS / "arr-1-calculator.png"), full_page=True)
    page.click("#submit-plan")
    page.wait_for_selector("#plan-status")
    assert "待组长审批" in page.inner_text("#plan-status")
    plan = RepaymentPlan.objects.get(case=w.case)

    # The team leader sees it in the approvals list and approves it with a comment.
    login(page, base, "lead1")
    page.goto(f"{base}/arrangements/approvals/")
    page.wait_for_selector(f"#plan-{plan.pk}")
    page.screenshot(path=str(SHOTS / "arr-2-leader-approvals.png"), full_page=True)
    page.goto(f"{base}/arrangements/plans/{plan.pk}/")
    page.fill("#review-comment", "首付合理，同意")
    page.click("#approve")
    page.wait_for_selector("#plan-status")
    assert "待委托方审批" in page.inner_text("#plan-status")

    # The creditor's user approves in their own view.
    login(page, base, "cred_a")
    page.goto(f"{base}/arrangements/approvals/")
    page.wait_for_selector(f"#plan-{plan.pk}")
    page.fill(f"#plan-{plan.pk} input[name=comment]", "同意分期")
    page.screenshot(path=str(SHOTS / "arr-3-creditor-approvals.png"), full_page=True)
    page.click(f"#plan-{plan.pk} button[value=approve]")
    page.wait_for_load_state()
    assert "没有待您审批的事项" in page.inner_text("#approvals-table")
    plan.refresh_from_db()
    assert plan.status == RepaymentPlan.Status.ACTIVE
    page.goto(f"{base}/arrangements/plans/{plan.pk}/")
    steps = page.inner_text("#approval-steps")
    assert "首付合理，同意" in steps and "同意分期" in steps
    page.screenshot(path=str(SHOTS / "arr-4-plan-active.png"), full_page=True)

    # Back on the case page, the card and the timeline show the running plan.
    login(page, base, "c1")
    page.goto(f"{base}/cases/{w.case.pk}/")
    page.wait_for_selector("#arrangements .arr-active")
    assert "进行中" in page.inner_text("#arrangements")
    assert "还款计划获批" in page.inner_text(".timeline")
    page.screenshot(path=str(SHOTS / "arr-5-case-page.png"), full_page=True)

    # Creditor B's user cannot even see it.
    login(page, base, "cred_b")
    r = page.goto(f"{base}/arrangements/plans/{plan.pk}/")
    assert r.status == 404


def test_settlement_offer_hidden_until_approved_then_told(browser_world, live_server, page):
    from qingshou.arrangements.models import CreditorTerms, Offer

    w = browser_world
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)

    # The supervisor sets creditor A's terms: a new version.
    login(page, base, "sup")
    page.goto(f"{base}/arrangements/terms/{w.creditor_a.pk}/")
    page.fill("#id_settlement_floor_share", "0.6")
    page.fill("#id_note", "甲方同意结清下限六成")
    page.screenshot(path=str(SHOTS / "arr-6-terms-edit.png"), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_selector("#terms-table")
    page.screenshot(path=str(SHOTS / "arr-7-terms-list.png"), full_page=True)
    assert CreditorTerms.objects.get(creditor=w.creditor_a).settlement_floor_share == Decimal("0.6")

    login(page, base, "c1")
    page.goto(f"{base}/arrangements/case/{w.case.pk}/offer/")
    page.select_option("#id_kind", "settlement")
    page.fill("#id_settle_amount", "5000")     # below 60% of principal 9,600 = 5,760
    page.click("#offer-form button[type=submit]")
    page.wait_for_selector(".ferr")
    assert "5,760" in page.inner_text(".ferr") or "5760" in page.inner_text(".ferr")
    page.fill("#id_settle_amount", "7000")
    page.fill("#id_note", "客户可筹七千")
    page.screenshot(path=str(SHOTS / "arr-8-offer-new.png"), full_page=True)
    page.click("#offer-form button[type=submit]")
    page.wait_for_selector("#offer-status")
    assert "不得告知债务人" in page.inner_text("main")
    assert page.query_selector("#communicate") is None
    page.screenshot(path=str(SHOTS / "arr-9-offer-pending.png"), full_page=True)
    offer = Offer.objects.get(case=w.case)

    for user in ("lead1", "cred_a"):
        login(page, base, user)
        page.goto(f"{base}/arrangements/approvals/")
        page.click(f"#offer-{offer.pk} button[value=approve]")
        page.wait_for_load_state()
    offer.refresh_from_db()
    assert offer.status == "approved" and offer.expires_on is not None

    login(page, base, "c1")
    page.goto(f"{base}/arrangements/offers/{offer.pk}/")
    assert "可以告知债务人" in page.inner_text("main")
    page.click("#communicate")
    page.wait_for_selector("#offer-status")
    offer.refresh_from_db()
    assert offer.communicated_at is not None
    page.screenshot(path=str(SHOTS / "arr-10-offer-told.png"), full_page=True)
