"""Repayment plans, waivers and settlements: calculator, limits, the approval chain, tracking, breaking."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from qingshou.arrangements import actions, calc
from qingshou.arrangements.jobs import plan_checks
from qingshou.arrangements.models import ApprovalStep, CreditorTerms, Offer, RepaymentPlan, WriteOff
from qingshou.arrangements.scoping import get_or_404, visible_plans
from qingshou.arrangements.terms import current_terms
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.payments.actions import do_record_payment
from qingshou.portfolio.models import CaseEvent


def _pay(case, amount, ref, at=None):
    return do_record_payment(case, amount=Decimal(amount), paid_at=at or timezone.now(), source_ref=ref)


def _propose(world, **kw):
    args = {"instalments": 6, "first_payment": Decimal("2000.00"),
            "start_date": timezone.localdate() + timedelta(days=5), "hardship_reason": "unemployed",
            "hardship_detail": "工厂停产", "note": "客户愿意分期", "acting_user": world.collector}
    args.update(kw)
    return actions.do_propose_plan(world.case, **args)


def _approve_plan(world, plan):
    plan = actions.do_review_plan(plan, approve=True, comment="组长同意", acting_user=world.leader)
    return actions.do_review_plan(plan, approve=True, comment="甲方同意", acting_user=world.creditor_user_a)


# --- the calculator ------------------------------------------------------------------------------


def test_schedule_splits_the_rest_evenly_and_the_last_takes_the_rounding():
    terms = CreditorTerms(version=0)
    bal = calc.Balance(Decimal("9600.00"), Decimal("400.00"), Decimal("0"), Decimal("0"))
    s = calc.schedule(bal, instalments=4, first_payment=Decimal("1000"), start_date=date(2027, 1, 31), terms=terms,
                      today=date(2027, 1, 1))
    assert [r.amount for r in s.rows] == [Decimal("1000.00"), Decimal("3000.00"), Decimal("3000.00"),
                                          Decimal("3000.00")]
    assert [r.due_date for r in s.rows] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31),
                                            date(2027, 4, 30)]
    assert s.total == Decimal("10000.00") and s.within_limits
    s = calc.schedule(bal, instalments=4, first_payment=Decimal("1000.01"), start_date=date(2027, 1, 31),
                      terms=terms, today=date(2027, 1, 1))
    assert s.total == Decimal("10000.00")
    assert [r.amount for r in s.rows[1:]] == [Decimal("2999.99"), Decimal("2999.99"), Decimal("3000.01")]


def test_schedule_limits_and_treatments():
    terms = CreditorTerms(version=0, plan_max_instalments=12, plan_max_months=12,
                          plan_min_first_share=Decimal("0.1"))
    bal = calc.Balance(Decimal("8000.00"), Decimal("2000.00"), Decimal("0"), Decimal("0"))
    s = calc.schedule(bal, instalments=24, first_payment=Decimal("500"), start_date=date(2026, 12, 1), terms=terms,
                      today=date(2026, 11, 18))
    codes = {c for c, _m in s.reasons}
    assert codes == {"instalments", "first_payment", "start_date"}
    terms.plan_treatment = "waived"
    s = calc.schedule(bal, instalments=2, first_payment=Decimal("1000"), start_date=date(2026, 12, 1), terms=terms,
                      today=date(2026, 11, 18))
    assert s.total == Decimal("8000.00") and s.waived == Decimal("2000.00")
    terms.plan_treatment = "continue"
    s = calc.schedule(bal, instalments=3, first_payment=Decimal("1000"), start_date=date(2026, 12, 1), terms=terms,
                      today=date(2026, 11, 18))
    # 9,000 left: 4,500 + 0.5% of 9,000, then 4,500 + 0.5% of 4,500
    assert [r.amount for r in s.rows] == [Decimal("1000.00"), Decimal("4545.00"), Decimal("4522.50")]


def test_calculator_page_shows_schedule_and_reasons(office_hours, world, client):
    client.force_login(world.collector)
    url = reverse("arrangements:plan_preview", kwargs={"pk": world.case.pk})
    r = client.get(url, {"instalments": "12", "first_payment": "1200", "start_date": "2026-11-25"})
    html = r.content.decode()
    assert r.status_code == 200 and "schedule-table" in html and "2027-10-25" in html
    assert "在委托方的限额内" in html or "Within the creditor" in html
    r = client.get(url, {"instalments": "12", "first_payment": "10", "start_date": "2026-11-25"})
    assert "limits-verdict" in r.content.decode() and "bad" in r.content.decode()


# --- the approval chain ----------------------------------------------------------------------------


def test_plan_chain_leader_then_creditor_with_comments(office_hours, world):
    plan = _propose(world, documents=[SimpleUploadedFile("裁员通知.pdf", b"%PDF-1.4 x")])
    assert plan.status == RepaymentPlan.Status.PENDING_LEADER and plan.within_limits
    assert plan.documents.count() == 1 and plan.schedule.count() == 6
    with pytest.raises(ActionError):  # the creditor cannot skip the leader
        actions.do_review_plan(plan, approve=True, comment="", acting_user=world.creditor_user_a)
    with pytest.raises(ActionError):  # a collector cannot approve
        actions.do_review_plan(plan, approve=True, comment="", acting_user=world.collector)
    plan = actions.do_review_plan(plan, approve=True, comment="组长同意", acting_user=world.leader)
    assert plan.status == RepaymentPlan.Status.PENDING_CREDITOR
    with pytest.raises(ActionError):  # the leader cannot take the creditor's stage
        actions.do_review_plan(plan, approve=True, comment="", acting_user=world.leader)
    plan = actions.do_review_plan(plan, approve=True, comment="甲方同意", acting_user=world.creditor_user_a)
    assert plan.status == RepaymentPlan.Status.ACTIVE and plan.activated_at is not None
    assert [(s.stage, s.decision, s.comment) for s in plan.steps.all()] == [
        ("proposal", "proposed", "客户愿意分期"), ("leader", "approved", "组长同意"),
        ("creditor", "approved", "甲方同意")]
    types = list(CaseEvent.objects.filter(case=world.case).values_list("type", flat=True))
    assert "plan_proposed" in types and types.count("plan_approved") == 2
    assert AuditLog.objects.filter(action="plan.approve", object_id=str(plan.pk)).count() == 2


def test_rejection_needs_a_reason_and_ends_the_plan(office_hours, world):
    plan = _propose(world)
    with pytest.raises(ActionError):
        actions.do_review_plan(plan, approve=False, comment=" ", acting_user=world.leader)
    plan = actions.do_review_plan(plan, approve=False, comment="首付太低", acting_user=world.leader)
    assert plan.status == RepaymentPlan.Status.REJECTED
    assert CaseEvent.objects.get(case=world.case, type="plan_rejected").data["comment"] == "首付太低"
    _propose(world)  # a rejected plan no longer blocks a new one


def test_collector_proposal_outside_limits_is_refused(office_hours, world):
    actions.do_update_terms(world.creditor_a, values={"plan_max_instalments": 12}, note="收紧",
                            acting_user=world.supervisor)
    with pytest.raises(ActionError) as exc:
        _propose(world, instalments=24)
    assert "instalments" in exc.value.error_dict
    assert not RepaymentPlan.objects.exists()


def test_self_service_request_is_recorded_and_flagged(office_hours, world):
    actions.do_update_terms(world.creditor_a, values={"plan_max_instalments": 12}, note="收紧",
                            acting_user=world.supervisor)
    plan = actions.do_request_plan(world.case, instalments=24, first_payment=Decimal("1000"),
                                   hardship_reason="生病住院，收入中断", note="", acting_user=None, via="self_service")
    assert plan.via == "self_service" and not plan.within_limits and plan.limit_reasons
    assert plan.hardship_reason == "other" and plan.hardship_detail == "生病住院，收入中断"
    assert actions.hardship_code("疾病") == ("illness", "")
    assert actions.hardship_code("失业半年") == ("unemployed", "失业半年")


def test_approval_by_another_creditors_user_is_impossible(office_hours, world, client):
    plan = _propose(world)
    plan = actions.do_review_plan(plan, approve=True, comment="同意", acting_user=world.leader)
    with pytest.raises(ActionError):  # the action re-checks the creditor
        actions.do_review_plan(plan, approve=True, comment="", acting_user=world.creditor_user_b)
    with pytest.raises(Http404):
        get_or_404(visible_plans(world.creditor_user_b), plan.pk)
    client.force_login(world.creditor_user_b)
    r = client.post(reverse("arrangements:plan_review", kwargs={"pk": plan.pk}), {"op": "approve"})
    assert r.status_code == 404
    assert "ACC" not in client.get(reverse("arrangements:approvals")).content.decode()
    plan.refresh_from_db()
    assert plan.status == RepaymentPlan.Status.PENDING_CREDITOR


# --- tracking and breaking ------------------------------------------------------------------------


def test_payments_are_allocated_to_instalments_in_order_and_complete_the_plan(office_hours, world):
    plan = _approve_plan(world, _propose(world, instalments=3, first_payment=Decimal("2000.00")))
    _pay(world.case, "2500", "p-1")
    rows = list(plan.schedule.order_by("seq"))
    assert [r.paid_amount for r in rows] == [Decimal("2000.00"), Decimal("500.00"), Decimal("0.00")]
    plan.refresh_from_db()
    assert plan.paid_amount == Decimal("2500.00") and plan.status == "active"
    assert timezone.localtime(plan.check_at).date() == rows[1].due_date + timedelta(days=2)
    _pay(world.case, "9500", "p-2")
    plan.refresh_from_db()
    world.case.refresh_from_db()
    assert plan.status == RepaymentPlan.Status.COMPLETED and world.case.status == "settled"
    assert CaseEvent.objects.filter(case=world.case, type="plan_completed").exists()


def test_missed_instalment_breaks_the_plan_after_grace(office_hours, world):
    start = timezone.localdate() + timedelta(days=2)
    plan = _approve_plan(world, _propose(world, start_date=start))
    _pay(world.case, "1500", "short-1")
    # Within grace (due + 1 day): the scheduler leaves it running.
    office_hours.move_to(timezone.make_aware(datetime.combine(start + timedelta(days=1), time(12))))
    plan_checks(timezone.now())
    plan.refresh_from_db()
    assert plan.status == RepaymentPlan.Status.ACTIVE
    office_hours.move_to(timezone.make_aware(datetime.combine(start + timedelta(days=2), time(0, 30))))
    result = plan_checks(timezone.now())
    plan.refresh_from_db()
    assert result == {"broken": 1} and plan.status == RepaymentPlan.Status.BROKEN
    ev = CaseEvent.objects.get(case=world.case, type="plan_broken")
    assert ev.data["missed"] == 1 and ev.data["paid"] == "1500.00"
    world.case.refresh_from_db()
    assert world.case.next_work_at is not None and world.case.next_work_at <= timezone.now()
    assert plan_checks(timezone.now()) == {}  # nothing left to check


def test_paid_instalment_moves_the_check_on(office_hours, world):
    start = timezone.localdate() + timedelta(days=2)
    plan = _approve_plan(world, _propose(world, start_date=start))
    _pay(world.case, "2000", "first-1")
    office_hours.move_to(timezone.make_aware(datetime.combine(start + timedelta(days=3), time(9))))
    assert actions.do_check_plan(plan.pk) == RepaymentPlan.Status.ACTIVE
    plan.refresh_from_db()
    assert timezone.localtime(plan.check_at).date() > start + timedelta(days=20)


# --- waivers and settlements -----------------------------------------------------------------------


def test_waiver_limits(office_hours, world):
    actions.do_update_terms(world.creditor_a, values={"waiver_max_interest_share": Decimal("0.5")}, note="减免上限",
                            acting_user=world.supervisor)
    with pytest.raises(ActionError) as exc:  # interest is 2,400: at most 1,200
        actions.do_propose_offer(world.case, kind="waiver", interest_waived=Decimal("1500"),
                                 acting_user=world.collector)
    assert "interest_waived" in exc.value.error_dict
    with pytest.raises(ActionError):  # settlement floor: 70% of principal 9,600 = 6,720
        actions.do_propose_offer(world.case, kind="settlement", settle_amount=Decimal("6000"),
                                 acting_user=world.collector)
    offer = actions.do_propose_offer(world.case, kind="waiver", interest_waived=Decimal("1200"),
                                     acting_user=world.collector)
    assert offer.pay_amount == Decimal("10800.00")


def test_waiver_cannot_be_communicated_before_approval(office_hours, world, client):
    offer = actions.do_propose_offer(world.case, kind="waiver", interest_waived=Decimal("1000"), note="困难",
                                     acting_user=world.collector)
    assert not actions.can_communicate(offer)
    with pytest.raises(ActionError):
        actions.do_mark_offer_communicated(offer, acting_user=world.collector)
    offer = actions.do_review_offer(offer, approve=True, comment="组长同意", acting_user=world.leader)
    client.force_login(world.collector)
    r = client.post(reverse("arrangements:offer_communicate", kwargs={"pk": offer.pk}))
    assert r.status_code == 302
    offer.refresh_from_db()
    assert offer.communicated_at is None
    assert AuditLog.objects.filter(action="offer.communicate_refused").count() == 1
    # The case card does not show the amount of an unapproved offer.
    card = client.get(reverse("arrangements:case_card", kwargs={"pk": world.case.pk})).content.decode()
    assert "11,000.00" not in card
    offer = actions.do_review_offer(offer, approve=True, comment="甲方同意", acting_user=world.creditor_user_a)
    expiry = current_terms(world.creditor_a.pk).offer_expiry_days
    assert offer.expires_on == timezone.localdate() + timedelta(days=expiry)
    assert actions.can_communicate(offer)
    assert "11,000.00" in client.get(reverse("arrangements:case_card", kwargs={"pk": world.case.pk})).content.decode()
    actions.do_mark_offer_communicated(offer, acting_user=world.collector)
    assert CaseEvent.objects.filter(case=world.case, type="offer_communicated").exists()
    assert not actions.can_communicate(offer, today=offer.expires_on + timedelta(days=1))


def test_settlement_by_payment_settles_the_case_with_a_write_off(office_hours, world):
    offer = actions.do_propose_offer(world.case, kind="settlement", settle_amount=Decimal("8000.00"),
                                     acting_user=world.collector)
    offer = actions.do_review_offer(offer, approve=True, comment="同意", acting_user=world.supervisor)
    offer = actions.do_review_offer(offer, approve=True, comment="同意结清", acting_user=world.creditor_user_a)
    _pay(world.case, "5000", "s-1")
    world.case.refresh_from_db()
    assert world.case.status == "active" and world.case.total_due == Decimal("7000.00")
    _pay(world.case, "3000", "s-2")
    world.case.refresh_from_db()
    offer.refresh_from_db()
    assert offer.status == Offer.Status.SETTLED and world.case.status == "settled"
    assert world.case.total_due == Decimal("0.00")
    wo = WriteOff.objects.get(offer=offer)
    assert wo.total == Decimal("4000.00") and wo.principal == Decimal("4000.00")  # interest went first
    assert CaseEvent.objects.filter(case=world.case, type="written_off").exists()
    assert AuditLog.objects.filter(action="arrangement.write_off").exists()


def test_expired_offer_does_not_settle(office_hours, world):
    offer = actions.do_propose_offer(world.case, kind="settlement", settle_amount=Decimal("8000.00"),
                                     acting_user=world.collector)
    actions.do_review_offer(offer, approve=True, comment="", acting_user=world.leader)
    offer = actions.do_review_offer(Offer.objects.get(pk=offer.pk), approve=True, comment="",
                                    acting_user=world.creditor_user_a)
    office_hours.move_to(timezone.now() + timedelta(days=20))
    assert plan_checks(timezone.now()) == {"offer_expired": 1}
    _pay(world.case, "8000", "late-s")
    world.case.refresh_from_db()
    assert world.case.status == "active" and world.case.total_due == Decimal("4000.00")


# --- terms --------------------------------------------------------------------------------------


def test_terms_are_versioned_and_audited(office_hours, world, client):
    assert current_terms(world.creditor_a.pk).version == 0
    t1 = actions.do_update_terms(world.creditor_a, values={"grace_days": 3}, note="宽限期三天",
                                 acting_user=world.supervisor)
    t2 = actions.do_update_terms(world.creditor_a, values={"offer_expiry_days": 7}, note="要约七天",
                                 acting_user=world.admin)
    assert (t1.version, t2.version, t2.grace_days) == (1, 2, 3)
    assert current_terms(world.creditor_a.pk) == t2 and current_terms(world.creditor_b.pk).version == 0
    row = AuditLog.objects.filter(action="terms.update").latest("pk")
    assert row.data["changed"] == {"offer_expiry_days": [15, 7]}
    with pytest.raises(ActionError):
        actions.do_update_terms(world.creditor_a, values={"plan_max_months": 72}, note="超过五年",
                                acting_user=world.supervisor)
    with pytest.raises(ActionError):
        actions.do_update_terms(world.creditor_a, values={"grace_days": 1}, note="组长", acting_user=world.leader)


def test_plan_pages_render_in_chinese(office_hours, world, client):
    plan = _propose(world)
    client.force_login(world.leader)
    html = client.get(reverse("arrangements:plan", kwargs={"pk": plan.pk})).content.decode()
    assert "还款计划" in html or "分期" in html
    assert ApprovalStep.objects.filter(plan=plan).count() == 1
    html = client.get(reverse("arrangements:approvals")).content.decode()
    assert f"plan-{plan.pk}" in html and "待审批" in html


def test_demo_arrangements(office_hours, world):
    from qingshou.arrangements.demo import demo_arrangements

    made = demo_arrangements()
    assert made == {"terms": 2, "plans": 2, "offers": 0}  # two creditor-A cases in team 1; B has no leader there
    assert set(RepaymentPlan.objects.values_list("status", flat=True)) == {"pending_leader", "pending_creditor"}
    assert demo_arrangements()["terms"] == 0  # idempotent for terms; cases with plans are skipped


def test_payment_file_chunk_tracks_plans_and_offers(office_hours, world):
    """do_record_payments (repayment files) finds the cases with arrangements in one go and tracks them."""
    from qingshou.payments.actions import PaymentLine, do_record_payments

    plan = _approve_plan(world, _propose(world, instalments=3, first_payment=Decimal("2000.00")))
    offer = actions.do_propose_offer(world.case_peer, kind="settlement", settle_amount=Decimal("8000.00"),
                                     acting_user=world.collector_peer)
    actions.do_review_offer(offer, approve=True, comment="", acting_user=world.leader)
    actions.do_review_offer(Offer.objects.get(pk=offer.pk), approve=True, comment="", acting_user=world.creditor_user_a)
    now = timezone.now()
    result = do_record_payments(world.creditor_a, [
        PaymentLine(case_id=world.case.pk, amount=Decimal("2000.00"), paid_at=now, txn_id="T-1", row=1),
        PaymentLine(case_id=world.case_peer.pk, amount=Decimal("8000.00"), paid_at=now, txn_id="T-2", row=2),
    ])
    assert result.settled_case_ids == [world.case_peer.pk]
    assert plan.schedule.get(seq=1).paid_amount == Decimal("2000.00")
    assert Offer.objects.get(pk=offer.pk).status == "settled"
