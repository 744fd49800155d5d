"""Every state change of plans, offers and creditor terms. Each public do_… is one durable transaction that
writes the audit row and the case timeline event; views, the self-service app, jobs and commands call these."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.arrangements import calc
from qingshou.arrangements.models import (
    ApprovalStep,
    CreditorTerms,
    HardshipReason,
    Instalment,
    Offer,
    PlanDocument,
    RepaymentPlan,
)
from qingshou.arrangements.terms import current_terms
from qingshou.arrangements.tracking import allocate_plan, next_check
from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one
from qingshou.core.scoping import can, visible_cases
from qingshou.org.models import Role
from qingshou.portfolio import events
from qingshou.portfolio.models import Case, CaseStatus

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = (".pdf", ".jpg", ".jpeg", ".png", ".doc", ".docx")
# The self-service page asks for a plan without a date: the first instalment falls due this many days later.
SELF_SERVICE_FIRST_DUE_DAYS = 7


def _errors(reasons) -> ActionError:
    out: dict[str, list[str]] = {}
    for code, message in reasons:
        out.setdefault(code, []).append(message)
    return ActionError(out)


def _require_active(case) -> None:
    if case.status != CaseStatus.ACTIVE:
        raise ActionError({"case": _("Only a case in collection can get a plan or an offer.")})


def _require_worker(case, user) -> None:
    """Proposals come from people who may work the case (or from the system on the debtor's behalf)."""
    if user is None or getattr(user, "is_service", False):
        return
    if not (can(user, "case.work") and visible_cases(user).filter(pk=case.pk).exists()):
        raise ActionError({"case": _("You cannot propose arrangements on this case.")})


def check_reviewer(case, state: str, user) -> str:
    """The stage the user may decide, or ActionError. The leader's stage: a team leader or supervisor whose
    scope holds the case. The creditor's stage: a user of the case's own creditor. Re-checked in the action."""
    if state == RepaymentPlan.Status.PENDING_LEADER:
        if can(user, "arrangement.review") and visible_cases(user).filter(pk=case.pk).exists():
            return ApprovalStep.Stage.LEADER
    elif state == RepaymentPlan.Status.PENDING_CREDITOR:
        if (getattr(user, "role", None) == Role.CREDITOR and can(user, "arrangement.approve")
                and user.creditor_id == case.creditor_id):
            return ApprovalStep.Stage.CREDITOR
    else:
        raise ActionError({"status": _("This is not awaiting a decision.")})
    raise ActionError({"status": _("You may not decide at this stage.")})


# --- plans ------------------------------------------------------------------------------------


HARDSHIP_WORDS = {
    "失业": HardshipReason.UNEMPLOYED, "疾病": HardshipReason.ILLNESS, "经营困难": HardshipReason.BUSINESS,
    "疫情": HardshipReason.EPIDEMIC, "疫情影响": HardshipReason.EPIDEMIC, "其他": HardshipReason.OTHER,
}


def hardship_code(value: str) -> tuple[str, str]:
    """(code, detail) from a code or a debtor's own words (the self-service page sends free text)."""
    value = (value or "").strip()
    if value in HardshipReason.values:
        return value, ""
    if value in HARDSHIP_WORDS:
        return HARDSHIP_WORDS[value], ""
    for word, code in HARDSHIP_WORDS.items():
        if word in value and code != HardshipReason.OTHER:
            return code, value
    return HardshipReason.OTHER, value


def _propose_plan(case, *, instalments, first_payment, start_date, hardship_reason, hardship_detail, note,
                  acting_user, via, enforce_limits: bool) -> RepaymentPlan:
    _require_active(case)
    if RepaymentPlan.objects.filter(case=case, status__in=RepaymentPlan.OPEN).exists():
        raise ActionError({"instalments": _("This case already has a plan under approval or running.")})
    if hardship_reason not in HardshipReason.values:
        raise ActionError({"hardship_reason": _("Choose the debtor's hardship reason.")})
    terms = current_terms(case.creditor_id)
    try:
        first = Decimal(first_payment)
    except (InvalidOperation, TypeError, ValueError):
        raise ActionError({"first_payment": _("Enter the first payment.")}) from None
    sched = calc.schedule(calc.Balance.of(case), instalments=instalments, first_payment=first,
                          start_date=start_date, terms=terms, today=timezone.localdate())
    if not sched.rows or (enforce_limits and sched.reasons):
        raise _errors(sched.reasons)
    plan = RepaymentPlan.objects.create(
        case=case, kind=RepaymentPlan.Kind.DEFERRAL if len(sched.rows) == 1 else RepaymentPlan.Kind.INSTALMENTS,
        via=via, balance_at_start=case.total_due, total_amount=sched.total, instalments=len(sched.rows),
        first_payment=sched.rows[0].amount, start_date=start_date, treatment=terms.plan_treatment,
        hardship_reason=hardship_reason, hardship_detail=(hardship_detail or "").strip()[:300],
        note=(note or "").strip()[:500], within_limits=sched.within_limits,
        limit_reasons=[m for _c, m in sched.reasons], terms=terms if terms.pk else None,
        proposed_by=acting_user if getattr(acting_user, "pk", None) else None,
    )
    Instalment.objects.bulk_create([Instalment(plan=plan, seq=r.seq, due_date=r.due_date, amount=r.amount)
                                    for r in sched.rows])
    ApprovalStep.objects.create(plan=plan, stage=ApprovalStep.Stage.PROPOSAL, decision=ApprovalStep.Decision.PROPOSED,
                                comment=plan.note, user=plan.proposed_by)
    events.plan_proposed(case, plan, user=plan.proposed_by)
    audit("plan.propose", actor=acting_user, obj=plan, case_id=case.pk, instalments=plan.instalments,
          total=plan.total_amount, first_payment=plan.first_payment, start_date=start_date, via=via,
          hardship=hardship_reason, within_limits=plan.within_limits, terms_version=terms.version)
    return plan


@transaction.atomic(durable=True)
def do_propose_plan(case, *, instalments: int, first_payment, start_date, hardship_reason: str,
                    hardship_detail: str = "", note: str = "", acting_user, documents=()) -> RepaymentPlan:
    """分期 / 延期 proposed by a collector: must be within the creditor's limits; goes to the team leader."""
    case = lock_one(Case, case.pk)
    _require_worker(case, acting_user)
    plan = _propose_plan(case, instalments=instalments, first_payment=first_payment, start_date=start_date,
                         hardship_reason=hardship_reason, hardship_detail=hardship_detail, note=note,
                         acting_user=acting_user, via=RepaymentPlan.Via.COLLECTOR, enforce_limits=True)
    for f in documents:
        add_document(plan, file=f, acting_user=acting_user)
    return plan


@transaction.atomic(durable=True)
def do_request_plan(case, *, instalments: int, first_payment, hardship_reason: str, note: str = "",
                    acting_user=None, via: str = "collector", start_date=None) -> RepaymentPlan:
    """A plan asked for by the debtor (self-service) or on their behalf. hardship_reason is a HardshipReason
    code or the debtor's own words (kept as the detail, reason "other"). A collector's request must be
    within the creditor's limits; a debtor's own request is recorded even outside them, flagged with the
    reasons for the approvers."""
    if via not in RepaymentPlan.Via.values:
        raise ActionError({"via": _("Unknown channel.")})
    case = lock_one(Case, case.pk)
    if via == RepaymentPlan.Via.COLLECTOR:
        _require_worker(case, acting_user)
    code, detail = hardship_code(hardship_reason)
    start_date = start_date or timezone.localdate() + timedelta(days=SELF_SERVICE_FIRST_DUE_DAYS)
    return _propose_plan(case, instalments=instalments, first_payment=first_payment, start_date=start_date,
                         hardship_reason=code, hardship_detail=detail, note=note, acting_user=acting_user, via=via,
                         enforce_limits=via == RepaymentPlan.Via.COLLECTOR)


def add_document(plan, *, file, acting_user) -> PlanDocument:
    name = (getattr(file, "name", "") or "document")[-200:]
    if not name.lower().endswith(DOCUMENT_TYPES):
        raise ActionError({"document": _("Upload a PDF, image or Word document.")})
    if (getattr(file, "size", 0) or 0) > MAX_DOCUMENT_BYTES:
        raise ActionError({"document": _("A document may be at most 10 MB.")})
    doc = PlanDocument.objects.create(plan=plan, file=file, name=name, uploaded_by=acting_user)
    audit("plan.document", actor=acting_user, obj=doc, case_id=plan.case_id, plan=plan.pk, name=name)
    return doc


@transaction.atomic(durable=True)
def do_add_plan_document(plan, *, file, acting_user) -> PlanDocument:
    case = lock_one(Case, plan.case_id)
    _require_worker(case, acting_user)
    plan = lock_one(RepaymentPlan, plan.pk)
    if plan.status not in RepaymentPlan.OPEN:
        raise ActionError({"document": _("This plan is closed.")})
    return add_document(plan, file=file, acting_user=acting_user)


def _record_step(case, acting_user, *, approve: bool, comment: str, plan=None, offer=None) -> tuple[str, str]:
    """One reviewer's decision on a plan or an offer: checks the reviewer, requires a reason for a rejection,
    and stores the ApprovalStep. Returns the stage decided and the cleaned comment."""
    subject = plan or offer
    stage = check_reviewer(case, subject.status, acting_user)
    comment = (comment or "").strip()[:500]
    if not approve and not comment:
        raise ActionError({"comment": _("Give the reason for the rejection.")})
    ApprovalStep.objects.create(plan=plan, offer=offer, stage=stage, user=acting_user, comment=comment,
                                decision=ApprovalStep.Decision.APPROVED if approve else ApprovalStep.Decision.REJECTED)
    return stage, comment


@transaction.atomic(durable=True)
def do_review_plan(plan, *, approve: bool, comment: str, acting_user) -> RepaymentPlan:
    """One step of the chain: the leader's decision, then the creditor's. Approval by the creditor starts the
    plan (payments from that day count toward its instalments). A rejection needs a reason."""
    case = lock_one(Case, plan.case_id)
    plan = lock_one(RepaymentPlan, plan.pk)
    stage, comment = _record_step(case, acting_user, approve=approve, comment=comment, plan=plan)
    now = timezone.now()
    if not approve:
        plan.status, plan.ended_at = RepaymentPlan.Status.REJECTED, now
    elif stage == ApprovalStep.Stage.LEADER:
        plan.status = RepaymentPlan.Status.PENDING_CREDITOR
    else:
        plan.status, plan.activated_at = RepaymentPlan.Status.ACTIVE, now
    plan.save(update_fields=["status", "ended_at", "activated_at"])
    events.plan_reviewed(case, plan, user=acting_user, stage=stage, approved=approve, comment=comment)
    audit("plan.approve" if approve else "plan.reject", actor=acting_user, obj=plan, case_id=case.pk, stage=stage,
          reason=comment)
    if plan.status == RepaymentPlan.Status.ACTIVE:
        rows = allocate_plan(plan)
        plan.check_at = next_check(plan, rows, current_terms(case.creditor_id).grace_days)
        plan.save(update_fields=["paid_amount", "check_at"])
    return plan


@transaction.atomic(durable=True)
def do_cancel_plan(plan, *, acting_user, reason: str) -> RepaymentPlan:
    case = lock_one(Case, plan.case_id)
    _require_worker(case, acting_user)
    plan = lock_one(RepaymentPlan, plan.pk)
    if plan.status not in RepaymentPlan.OPEN:
        raise ActionError({"reason": _("This plan is closed.")})
    if not (reason or "").strip():
        raise ActionError({"reason": _("Give a reason.")})
    plan.status, plan.ended_at, plan.check_at = RepaymentPlan.Status.CANCELLED, timezone.now(), None
    plan.save(update_fields=["status", "ended_at", "check_at"])
    ApprovalStep.objects.create(plan=plan, stage=ApprovalStep.Stage.PROPOSAL, user=acting_user,
                                decision=ApprovalStep.Decision.CANCELLED, comment=reason.strip()[:500])
    audit("plan.cancel", actor=acting_user, obj=plan, case_id=case.pk, reason=reason.strip())
    return plan


@transaction.atomic(durable=True)
def do_check_plan(plan_id: int, *, now=None) -> str:
    """The scheduler's look at a running plan: allocate payments; when an instalment is still short after its
    due date + grace, the plan is broken (timeline, case back to the top of the queue)."""
    plan = RepaymentPlan.objects.get(pk=plan_id)
    case = lock_one(Case, plan.case_id)
    plan = lock_one(RepaymentPlan, plan_id)
    if plan.status != RepaymentPlan.Status.ACTIVE:
        return plan.status
    now = now or timezone.now()
    grace = current_terms(case.creditor_id).grace_days
    rows = allocate_plan(plan)
    today = timezone.localdate(now)
    missed = next((r for r in rows if not r.is_paid and r.due_date + timedelta(days=grace) < today), None)
    if missed is None:
        plan.check_at = next_check(plan, rows, grace)
        plan.save(update_fields=["paid_amount", "check_at"])
        return plan.status
    plan.status, plan.ended_at, plan.check_at = RepaymentPlan.Status.BROKEN, now, None
    plan.save(update_fields=["status", "ended_at", "check_at", "paid_amount"])
    events.plan_broken(case, plan, missed_seq=missed.seq)
    audit("plan.broken", actor=None, obj=plan, case_id=case.pk, missed=missed.seq, paid=plan.paid_amount)
    Case.objects.filter(pk=case.pk).update(next_work_at=now)
    return plan.status


# --- waivers and settlements ------------------------------------------------------------------


@transaction.atomic(durable=True)
def do_propose_offer(case, *, kind: str, interest_waived=Decimal("0"), fees_waived=Decimal("0"),
                     settle_amount=None, note: str = "", acting_user) -> Offer:
    """减免 / 一次性结清, within the creditor's limits; nobody may tell the debtor before the creditor approves."""
    case = lock_one(Case, case.pk)
    _require_worker(case, acting_user)
    _require_active(case)
    if kind not in Offer.Kind.values:
        raise ActionError({"kind": _("Choose a waiver or a settlement.")})
    if Offer.objects.filter(case=case, status__in=Offer.OPEN).exists():
        raise ActionError({"kind": _("This case already has an open offer.")})
    terms = current_terms(case.creditor_id)
    pay, reasons = calc.offer_limits(calc.Balance.of(case), kind=kind, interest_waived=interest_waived,
                                     fees_waived=fees_waived, settle_amount=settle_amount, terms=terms)
    if reasons:
        raise _errors(reasons)
    offer = Offer.objects.create(
        case=case, kind=kind, balance_at_start=case.total_due, pay_amount=pay,
        interest_waived=interest_waived if kind == Offer.Kind.WAIVER else Decimal("0.00"),
        fees_waived=fees_waived if kind == Offer.Kind.WAIVER else Decimal("0.00"),
        note=(note or "").strip()[:500], terms=terms if terms.pk else None, proposed_by=acting_user,
    )
    ApprovalStep.objects.create(offer=offer, stage=ApprovalStep.Stage.PROPOSAL, user=acting_user,
                                decision=ApprovalStep.Decision.PROPOSED, comment=offer.note)
    events.offer_proposed(case, offer, user=acting_user)
    audit("offer.propose", actor=acting_user, obj=offer, case_id=case.pk, kind=kind, pay=pay,
          interest_waived=offer.interest_waived, fees_waived=offer.fees_waived, terms_version=terms.version)
    return offer


@transaction.atomic(durable=True)
def do_review_offer(offer, *, approve: bool, comment: str, acting_user) -> Offer:
    case = lock_one(Case, offer.case_id)
    offer = lock_one(Offer, offer.pk)
    stage, comment = _record_step(case, acting_user, approve=approve, comment=comment, offer=offer)
    now = timezone.now()
    if not approve:
        offer.status, offer.ended_at = Offer.Status.REJECTED, now
    elif stage == ApprovalStep.Stage.LEADER:
        offer.status = Offer.Status.PENDING_CREDITOR
    else:
        offer.status, offer.approved_at = Offer.Status.APPROVED, now
        offer.expires_on = timezone.localdate(now) + timedelta(days=current_terms(case.creditor_id).offer_expiry_days)
    offer.save(update_fields=["status", "ended_at", "approved_at", "expires_on"])
    events.offer_reviewed(case, offer, user=acting_user, stage=stage, approved=approve, comment=comment)
    audit("offer.approve" if approve else "offer.reject", actor=acting_user, obj=offer, case_id=case.pk,
          stage=stage, reason=comment, expires_on=offer.expires_on)
    return offer


def can_communicate(offer, today=None) -> bool:
    """May anyone tell the debtor about this offer? Only once the creditor approved it, and until it expires.
    Templates and channels must ask this before showing or sending an offer's terms."""
    today = today or timezone.localdate()
    return offer.status == Offer.Status.APPROVED and offer.expires_on is not None and offer.expires_on >= today


@transaction.atomic(durable=True)
def do_mark_offer_communicated(offer, *, acting_user) -> Offer:
    """Record that the approved offer was told to the debtor; refused before the creditor's approval."""
    case = lock_one(Case, offer.case_id)
    _require_worker(case, acting_user)
    offer = lock_one(Offer, offer.pk)
    if not can_communicate(offer):
        raise ActionError({"offer": _("This offer may not be told to the debtor: the creditor has not approved "
                                      "it, or it has expired.")})
    offer.communicated_at, offer.communicated_by = timezone.now(), acting_user
    offer.save(update_fields=["communicated_at", "communicated_by"])
    events.offer_communicated(case, offer, user=acting_user)
    audit("offer.communicate", actor=acting_user, obj=offer, case_id=case.pk, expires_on=offer.expires_on)
    return offer


@transaction.atomic(durable=True)
def do_expire_offer(offer_id: int, *, today=None) -> str:
    offer = Offer.objects.get(pk=offer_id)
    case = lock_one(Case, offer.case_id)
    offer = lock_one(Offer, offer_id)
    today = today or timezone.localdate()
    if offer.status != Offer.Status.APPROVED or offer.expires_on is None or offer.expires_on >= today:
        return offer.status
    offer.status, offer.ended_at = Offer.Status.EXPIRED, timezone.now()
    offer.save(update_fields=["status", "ended_at"])
    events.offer_expired(case, offer)
    audit("offer.expired", actor=None, obj=offer, case_id=case.pk)
    return offer.status


# --- creditor terms ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def do_update_terms(creditor, *, values: dict, note: str, acting_user) -> CreditorTerms:
    """A new version of the creditor's terms (the old ones stay, for the plans and offers made under them)."""
    if not can(acting_user, "terms.edit"):
        raise ActionError({"note": _("You may not change creditor terms.")})
    if not (note or "").strip():
        raise ActionError({"note": _("Say why the terms change.")})
    from qingshou.org.models import Creditor

    creditor = lock_one(Creditor, creditor.pk)
    old = current_terms(creditor.pk)
    unknown = set(values) - set(CreditorTerms.EDITABLE)
    if unknown:
        raise ActionError({"note": _("Unknown terms: %(t)s") % {"t": ", ".join(sorted(unknown))}})
    new = CreditorTerms(creditor=creditor, version=old.version + 1, note=note.strip()[:300], created_by=acting_user,
                        **{**old.values(), **values})
    errors = {}
    for share in ("promise_min_share", "plan_min_first_share", "waiver_max_interest_share", "waiver_max_fee_share",
                  "settlement_floor_share"):
        if not Decimal("0") <= getattr(new, share) <= Decimal("1"):
            errors[share] = _("A share is between 0 and 1.")
    if new.plan_max_months > 60:
        errors["plan_max_months"] = _("A plan may run at most 60 months (5 years).")
    if new.plan_max_instalments < 1 or new.plan_max_instalments > 60:
        errors["plan_max_instalments"] = _("Between 1 and 60 instalments.")
    if new.promise_max_open < 1:
        errors["promise_max_open"] = _("At least one open promise.")
    if errors:
        raise ActionError(errors)
    new.save()
    changed = {k: [old.values()[k], v] for k, v in new.values().items() if old.values()[k] != v}
    audit("terms.update", actor=acting_user, obj=new, creditor=creditor.pk, version=new.version, changed=changed,
          reason=note.strip())
    return new
