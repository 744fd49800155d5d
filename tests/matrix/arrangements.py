"""Permission matrix of the arrangements area: plans, offers, approvals, creditor terms."""

from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.matrix.common import CASE_READ, Endpoint, rule

WORK_GET = rule(404, collector=200, leader=200, supervisor=200, creditor_a=403)
WORK_POST = rule(404, collector=302, leader=302, supervisor=302, creditor_a=403)
# The leader's stage: leaders and supervisors in scope; the creditor's user may not decide it (403).
LEADER_STAGE = rule(404, collector=403, leader=302, supervisor=302, creditor_a=403)
CREDITOR_STAGE = rule(404, collector=403, leader=403, supervisor=403, creditor_a=302)
APPROVALS = rule(403, leader=200, supervisor=200, creditor_a=200, creditor_b=200)
TERMS = rule(403, supervisor=200, admin=200)
TERMS_POST = rule(403, supervisor=302, admin=302)


def _plan(w, stage="pending_leader"):
    from qingshou.arrangements import actions
    from qingshou.arrangements.models import RepaymentPlan

    existing = RepaymentPlan.objects.filter(case=w.case, status__in=RepaymentPlan.OPEN).first()
    if existing is not None and existing.status == stage:
        return existing
    RepaymentPlan.objects.filter(case=w.case, status__in=RepaymentPlan.OPEN).update(status="cancelled")

    plan = actions.do_propose_plan(w.case, instalments=6, first_payment=Decimal("2000.00"),
                                   start_date=timezone.localdate() + timedelta(days=5), hardship_reason="illness",
                                   note="矩阵", acting_user=w.collector)
    if stage in ("pending_creditor", "active"):
        plan = actions.do_review_plan(plan, approve=True, comment="同意", acting_user=w.leader)
    if stage == "active":
        plan = actions.do_review_plan(plan, approve=True, comment="同意", acting_user=w.creditor_user_a)
    return plan


def _offer(w, stage="pending_leader"):
    from qingshou.arrangements import actions
    from qingshou.arrangements.models import Offer

    existing = Offer.objects.filter(case=w.case, status__in=Offer.OPEN).first()
    if existing is not None and existing.status == stage:
        return existing
    Offer.objects.filter(case=w.case, status__in=Offer.OPEN).update(status="cancelled")

    offer = actions.do_propose_offer(w.case, kind="waiver", interest_waived=Decimal("1000.00"), note="矩阵",
                                     acting_user=w.collector)
    if stage in ("pending_creditor", "approved"):
        offer = actions.do_review_offer(offer, approve=True, comment="同意", acting_user=w.leader)
    if stage == "approved":
        offer = actions.do_review_offer(offer, approve=True, comment="同意", acting_user=w.creditor_user_a)
    return offer


def _doc_kwargs(w, u):
    from qingshou.arrangements.actions import do_add_plan_document

    plan = _plan(w)
    doc = do_add_plan_document(plan, file=SimpleUploadedFile("诊断证明.pdf", b"%PDF-1.4 test"), acting_user=w.collector)
    return {"pk": plan.pk, "doc": doc.pk}


def _terms_data(w, u):
    from qingshou.arrangements.terms import current_terms

    data = {k: v for k, v in current_terms(w.creditor_a.pk).values().items()}
    data.update({"plan_max_instalments": 24, "note": "矩阵测试"})
    return data


CASE = {"kwargs": lambda w, u: {"pk": w.case.pk}}
PLAN_DATA = {
    "instalments": "6", "first_payment": "2000.00", "hardship_reason": "unemployed", "hardship_detail": "公司裁员",
    "note": "矩阵",
}

WEB = [
    Endpoint("arrangements:approvals", "get", APPROVALS),
    Endpoint("arrangements:terms", "get", TERMS),
    Endpoint("arrangements:terms_edit", "get", TERMS, kwargs=lambda w, u: {"pk": w.creditor_a.pk}),
    Endpoint("arrangements:terms_edit", "post", TERMS_POST, audit="terms.update",
             kwargs=lambda w, u: {"pk": w.creditor_a.pk}, data=_terms_data),
    Endpoint("arrangements:case_card", "get", CASE_READ, **CASE),
    Endpoint("arrangements:plan_new", "get", WORK_GET, **CASE),
    Endpoint("arrangements:plan_new", "post", WORK_POST, audit="plan.propose", **CASE,
             data=lambda w, u: {**PLAN_DATA, "start_date": (timezone.localdate() + timedelta(days=3)).isoformat()}),
    Endpoint("arrangements:plan_preview", "get", WORK_GET, **CASE,
             query=lambda w, u: {"instalments": "12", "first_payment": "1000",
                                 "start_date": timezone.localdate().isoformat()}),
    Endpoint("arrangements:offer_new", "get", WORK_GET, **CASE),
    Endpoint("arrangements:offer_new", "post", WORK_POST, audit="offer.propose", **CASE,
             data=lambda w, u: {"kind": "settlement", "settle_amount": "9000.00", "note": "矩阵"}),
    Endpoint("arrangements:plan", "get", CASE_READ, kwargs=lambda w, u: {"pk": _plan(w).pk}),
    Endpoint("arrangements:plan_review", "post", LEADER_STAGE, audit="plan.approve",
             audit_for=("leader", "supervisor"), kwargs=lambda w, u: {"pk": _plan(w).pk},
             data=lambda w, u: {"op": "approve", "comment": "同意"}),
    Endpoint("arrangements:plan_document", "post", WORK_POST, audit="plan.document",
             kwargs=lambda w, u: {"pk": _plan(w).pk},
             data=lambda w, u: {"document": SimpleUploadedFile("失业证明.pdf", b"%PDF-1.4 x")}),
    Endpoint("arrangements:plan_document_file", "get", CASE_READ, audit="plan.document_view", kwargs=_doc_kwargs),
    Endpoint("arrangements:plan_cancel", "post", WORK_POST, audit="plan.cancel",
             kwargs=lambda w, u: {"pk": _plan(w).pk}, data=lambda w, u: {"reason": "客户改主意"}),
    Endpoint("arrangements:offer", "get", CASE_READ, kwargs=lambda w, u: {"pk": _offer(w).pk}),
    Endpoint("arrangements:offer_review", "post", CREDITOR_STAGE, audit="offer.approve",
             kwargs=lambda w, u: {"pk": _offer(w, "pending_creditor").pk},
             data=lambda w, u: {"op": "approve", "comment": "同意"}),
    Endpoint("arrangements:offer_communicate", "post", WORK_POST, audit="offer.communicate",
             kwargs=lambda w, u: {"pk": _offer(w, "approved").pk}),
]
