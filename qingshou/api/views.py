"""The API operations. Each one parses, authorises through core.scoping, calls an action and renders.

No operation writes a model itself; writes go through the actions in contact/ and payments/.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Status

from qingshou.api import schemas as s
from qingshou.api.errors import ApiValidationError, deny, field_errors_from_action
from qingshou.contact.actions import do_log_contact
from qingshou.contact.models import ContactAttempt, OutcomeCode
from qingshou.core.errors import ActionError
from qingshou.core.masking import mask_id_number, mask_name, mask_phone
from qingshou.core.scoping import (
    CAPABILITIES,
    can,
    get_visible_case,
    visible_cases,
    visible_contacts,
    visible_promises,
    workable_cases,
)
from qingshou.payments.actions import do_cancel_promise, do_make_promise
from qingshou.payments.models import Promise
from qingshou.portfolio.models import Case, CaseHold, Party, Phone
from qingshou.portfolio.search import cases_by_number_q
from qingshou.strategy.queue import annotate_priority, work_queue

router = Router()

RECENT_EVENTS = 20
CASE_RELATED = ("creditor", "placement", "debtor", "team", "assigned_to")

ERRORS_READ = {401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut, 422: s.FieldErrorsOut}
ERRORS_WRITE = {
    400: s.FieldErrorsOut,
    401: s.ErrorOut,
    403: s.ErrorOut,
    404: s.ErrorOut,
    422: s.FieldErrorsOut,
}


# --- helpers ----------------------------------------------------------------------------------


def _user(request):
    return request.auth


def _page(qs: QuerySet, page: s.PageIn, render) -> dict:
    count = qs.count()
    rows = qs[page.offset : page.offset + page.limit] if page.offset < count else []
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": [render(r) for r in rows]}


def _money(value) -> str:
    return f"{value:.2f}"


def _local(value: datetime | None) -> datetime | None:
    return timezone.localtime(value) if value is not None else None


def _user_ref(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.label}


def _code_name(obj) -> dict | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def _require(request, capability: str) -> None:
    if not can(_user(request), capability):
        raise deny(request, capability=capability)


def _workable_case(request, case_id: int) -> Case:
    """The case for a write: the capability first (403, audited), then the scope (404)."""
    user = _user(request)
    if not can(user, "case.work"):
        raise deny(request, capability="case.work", case_id=case_id)
    case = get_visible_case(user, case_id)
    if not workable_cases(user).filter(pk=case.pk).exists():
        raise deny(request, capability="case.work", case_id=case.pk)
    return case


def _case_out(case: Case) -> dict:
    priority = getattr(case, "priority", None)
    return {
        "id": case.pk,
        "account_number": case.account_number,
        "product": case.product,
        "creditor": _code_name(case.creditor),
        "placement": case.placement.code,
        "debtor_name": case.debtor.name,
        "dpd": case.dpd,
        "bucket": case.bucket,
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "total_due": _money(case.total_due),
        "team": _code_name(case.team),
        "assigned_to": _user_ref(case.assigned_to),
        "assigned_at": _local(case.assigned_at),
        "first_contact_at": _local(case.first_contact_at),
        "last_contact_at": _local(case.last_contact_at),
        "next_work_at": _local(case.next_work_at),
        "on_hold": bool(getattr(case, "on_hold", False)),
        "promise_due": bool(getattr(case, "promise_due", False)),
        "first_call_overdue": case.first_call_overdue,
        "priority": priority if priority is not None else 2,
    }


def _phone_out(phone: Phone) -> dict:
    return {
        "id": phone.pk,
        "number_masked": mask_phone(phone.number),
        "status": phone.status,
        "status_label": str(phone.get_status_display()),
        "source": phone.source,
    }


def _party_out(party: Party) -> dict:
    return {
        "id": party.pk,
        "name": party.name if party.is_debtor else mask_name(party.name),
        "relation": party.relation,
        "relation_label": str(party.get_relation_display()),
        "is_debtor": party.is_debtor,
        "phones": [_phone_out(p) for p in party.phones.all()],
    }


def _promise_out(promise: Promise) -> dict:
    return {
        "id": promise.pk,
        "case_id": promise.case_id,
        "account_number": promise.case.account_number,
        "amount": _money(promise.amount),
        "due_date": promise.due_date,
        "status": promise.status,
        "status_label": str(promise.get_status_display()),
        "paid_amount": _money(promise.paid_amount),
        "party_id": promise.party_id,
        "contact_id": promise.contact_id,
        "created_at": _local(promise.created_at),
        "created_by": promise.created_by.label,
        "resolved_at": _local(promise.resolved_at),
    }


def _contact_out(contact: ContactAttempt) -> dict:
    return {
        "id": contact.pk,
        "case_id": contact.case_id,
        "party_id": contact.party_id,
        "party_relation": contact.party.relation,
        "phone_id": contact.phone_id,
        "phone_masked": mask_phone(contact.phone.number) if contact.phone_id else "",
        "channel": contact.channel,
        "direction": contact.direction,
        "started_at": _local(contact.started_at),
        "duration_seconds": contact.duration_seconds,
        "outcome": {"code": contact.outcome.code, "label": contact.outcome.label},
        "notes": contact.notes,
        "noted_at": _local(contact.noted_at),
        "recording_ref": contact.recording_ref,
        "checklist": contact.checklist or {},
        "collector": contact.collector.label,
    }


def _promises_qs(qs: QuerySet) -> QuerySet:
    return qs.select_related("case", "created_by")


def _contacts_qs(qs: QuerySet) -> QuerySet:
    return qs.select_related("party", "phone", "outcome", "collector").order_by("-started_at", "-id")


# --- cases ------------------------------------------------------------------------------------


@router.get(
    "/cases/mine",
    response={200: s.CasePage, **ERRORS_READ},
    tags=["cases"],
    operation_id="cases_mine",
    summary="My queue (我的案件), in priority order",
)
def cases_mine(request, page: Query[s.PageIn]):
    _require(request, "queue.own")
    qs = work_queue(_user(request)).select_related(*CASE_RELATED)
    return _page(qs, page, _case_out)


@router.get(
    "/cases",
    response={200: s.CasePage, **ERRORS_READ},
    tags=["cases"],
    operation_id="cases_list",
    summary="Cases I may see, filtered",
)
def cases_list(request, filters: Query[s.CaseFilterIn]):
    _require(request, "case.read")
    qs = visible_cases(_user(request))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.bucket:
        qs = qs.filter(bucket=filters.bucket)
    if filters.creditor:
        qs = qs.filter(creditor__code=filters.creditor)
    if filters.dpd_min is not None:
        qs = qs.filter(dpd__gte=filters.dpd_min)
    if filters.dpd_max is not None:
        qs = qs.filter(dpd__lte=filters.dpd_max)
    if filters.q:
        q = Q(account_number__icontains=filters.q.strip())
        by_number = cases_by_number_q(filters.q)  # full phone or ID number, through the keyed hash
        qs = qs.filter(q | by_number if by_number is not None else q)
    qs = annotate_priority(qs).select_related(*CASE_RELATED).order_by("pk")
    return _page(qs, filters, _case_out)


@router.get(
    "/cases/{case_id}",
    response={200: s.CaseDetailOut, **ERRORS_READ},
    tags=["cases"],
    operation_id="case_detail",
    summary="One case: balances, parties (masked), holds, timeline, promises",
)
def case_detail(request, case_id: int = Path(..., ge=1, le=s.MAX_ID)):
    user = _user(request)
    case = get_visible_case(user, case_id)
    case = annotate_priority(Case.objects.filter(pk=case.pk)).select_related(*CASE_RELATED).get()
    out = _case_out(case)
    debtor = case.debtor
    parties = Party.objects.filter(debtor=debtor).prefetch_related("phones").order_by("pk")
    holds = CaseHold.objects.filter(case=case, released_at__isnull=True).order_by("-placed_at")
    events = case.events.select_related("user").order_by("-at", "-id")[:RECENT_EVENTS]
    pending = _promises_qs(Promise.objects.filter(case=case, status=Promise.Status.PENDING)).order_by(
        "due_date"
    )
    out.update(
        debtor={
            "name": debtor.name,
            "id_number_masked": mask_id_number(debtor.id_number),
            "gender": debtor.gender,
            "region": debtor.region,
        },
        balances={
            "principal": _money(case.principal),
            "interest": _money(case.interest),
            "late_fees": _money(case.late_fees),
            "other_fees": _money(case.other_fees),
            "total_due": _money(case.total_due),
        },
        parties=[_party_out(p) for p in parties],
        holds=[
            {
                "id": h.pk,
                "reason": h.reason,
                "reason_label": str(h.get_reason_display()),
                "note": h.note,
                "placed_at": _local(h.placed_at),
            }
            for h in holds
        ],
        events=[
            {
                "id": e.pk,
                "type": e.type,
                "type_label": str(e.get_type_display()),
                "at": _local(e.at),
                "user": e.user.label if e.user else None,
                "data": e.data or {},
            }
            for e in events
        ],
        pending_promises=[_promise_out(p) for p in pending],
    )
    return out


# --- contacts ---------------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/contacts",
    response={200: s.ContactPage, **ERRORS_READ},
    tags=["contacts"],
    operation_id="contact_list",
    summary="The case's contact records (催记), newest first",
)
def contact_list(request, page: Query[s.PageIn], case_id: int = Path(..., ge=1, le=s.MAX_ID)):
    user = _user(request)
    case = get_visible_case(user, case_id)
    qs = _contacts_qs(visible_contacts(user).filter(case=case))
    return _page(qs, page, _contact_out)


_CONTACT_FIELDS = {"party": "party_id", "phone": "phone_id"}


@router.post(
    "/cases/{case_id}/contacts",
    response={201: s.ContactCreatedOut, 409: s.RefusalOut, **ERRORS_WRITE},
    tags=["contacts"],
    operation_id="contact_create",
    summary="Log a contact attempt (催记); the compliance hook is asked first",
    description="201 with the saved contact (and promise); 409 when compliance refuses, with the "
    "reasons and the next allowed time; 422 with field errors for bad input.",
)
def contact_create(request, payload: s.ContactIn, case_id: int = Path(..., ge=1, le=s.MAX_ID)):
    user = _user(request)
    case = _workable_case(request, case_id)
    errors: dict[str, list[str]] = {}
    party = Party.objects.filter(pk=payload.party_id, debtor_id=case.debtor_id).first()
    if party is None:
        errors["party_id"] = [_("This person is not a party to the case.")]
    phone = None
    if payload.phone_id is not None:
        phone = Phone.objects.filter(pk=payload.phone_id, party__debtor_id=case.debtor_id).first()
        if phone is None or (party is not None and phone.party_id != party.pk):
            errors["phone_id"] = [_("This number does not belong to the chosen person.")]
    outcome = OutcomeCode.objects.filter(code=payload.outcome).first()
    if outcome is None:
        errors["outcome"] = [_("Unknown outcome code.")]
    if errors:
        raise ApiValidationError(errors)

    started_at = payload.started_at
    if started_at is not None and timezone.is_naive(started_at):
        started_at = timezone.make_aware(started_at)
    try:
        result = do_log_contact(
            case,
            party=party,
            outcome=outcome,
            acting_user=user,
            phone=phone,
            channel=payload.channel,
            direction=payload.direction,
            started_at=started_at,
            duration_seconds=payload.duration_seconds,
            notes=payload.notes,
            checklist=dict(payload.checklist),
            recording_ref=payload.recording_ref,
            promise_amount=payload.promise_amount,
            promise_due_date=payload.promise_due_date,
            purpose=payload.purpose,
            institution_stated=payload.institution_stated,
            text=payload.text,
        )
    except ActionError as exc:
        raise ApiValidationError(field_errors_from_action(exc, _CONTACT_FIELDS)) from exc
    decision = result.decision
    if not result.saved:
        return Status(
            409,
            {
                "detail": _("The compliance check refused this contact."),
                "allowed": False,
                "reasons": decision.reasons_json(),
                "next_allowed_at": _local(decision.next_allowed_at),
            },
        )
    contact = _contacts_qs(ContactAttempt.objects.filter(pk=result.contact.pk)).get()
    promise = None
    if result.promise is not None:
        promise = _promises_qs(Promise.objects.filter(pk=result.promise.pk)).get()
    return Status(
        201,
        {
            "contact": _contact_out(contact),
            "promise": _promise_out(promise) if promise else None,
            "decision": {"allowed": True, "policy_version": decision.policy_version},
        },
    )


# --- promises ---------------------------------------------------------------------------------


@router.get(
    "/promises",
    response={200: s.PromisePage, **ERRORS_READ},
    tags=["promises"],
    operation_id="promise_list",
    summary="Promises to pay I may see",
)
def promise_list(request, filters: Query[s.PromiseFilterIn]):
    _require(request, "case.read")
    qs = visible_promises(_user(request))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.due_after:
        qs = qs.filter(due_date__gte=filters.due_after)
    if filters.due_before:
        qs = qs.filter(due_date__lte=filters.due_before)
    qs = _promises_qs(qs).order_by("due_date", "pk")
    return _page(qs, filters, _promise_out)


_PROMISE_FIELDS = {"promise_amount": "amount", "promise_due_date": "due_date", "party": "party_id"}


@router.post(
    "/cases/{case_id}/promises",
    response={201: s.PromiseOut, **ERRORS_WRITE},
    tags=["promises"],
    operation_id="promise_create",
    summary="Record a promise to pay; it supersedes pending ones",
)
def promise_create(request, payload: s.PromiseIn, case_id: int = Path(..., ge=1, le=s.MAX_ID)):
    user = _user(request)
    case = _workable_case(request, case_id)
    party = None
    if payload.party_id is not None:
        party = Party.objects.filter(pk=payload.party_id, debtor_id=case.debtor_id).first()
        if party is None:
            raise ApiValidationError({"party_id": _("This person is not a party to the case.")})
    try:
        promise = do_make_promise(
            case, amount=payload.amount, due_date=payload.due_date, acting_user=user, party=party
        )
    except ActionError as exc:
        raise ApiValidationError(field_errors_from_action(exc, _PROMISE_FIELDS)) from exc
    return Status(201, _promise_out(_promises_qs(Promise.objects.filter(pk=promise.pk)).get()))


@router.post(
    "/cases/{case_id}/promises/{promise_id}/cancel",
    response={200: s.PromiseOut, **ERRORS_WRITE},
    tags=["promises"],
    operation_id="promise_cancel",
    summary="Cancel a pending promise, with a reason",
)
def promise_cancel(
    request,
    payload: s.CancelIn,
    case_id: int = Path(..., ge=1, le=s.MAX_ID),
    promise_id: int = Path(..., ge=1, le=s.MAX_ID),
):
    user = _user(request)
    case = _workable_case(request, case_id)
    promise = Promise.objects.filter(pk=promise_id, case=case).first()
    if promise is None:
        raise Http404("no such promise on this case")
    try:
        promise = do_cancel_promise(promise, acting_user=user, reason=payload.reason.strip())
    except ActionError as exc:
        raise ApiValidationError(field_errors_from_action(exc, {"promise": "promise_id"})) from exc
    return _promise_out(_promises_qs(Promise.objects.filter(pk=promise.pk)).get())


# --- reference data and the caller ------------------------------------------------------------


@router.get(
    "/outcomes",
    response={200: list[s.OutcomeOut], 401: s.ErrorOut},
    tags=["reference"],
    operation_id="outcome_list",
    summary="The active outcome codes",
)
def outcome_list(request):
    return [
        {
            "code": o.code,
            "label": o.label,
            "label_zh": o.label_zh,
            "label_en": o.label_en,
            "connected": o.connected,
            "right_party": o.right_party,
            "third_party": o.third_party,
            "opens_promise": o.opens_promise,
            "stop_today": o.stop_today,
            "marks_phone_invalid": o.marks_phone_invalid,
            "marks_phone_valid": o.marks_phone_valid,
            "hold_reason": o.hold_reason,
        }
        for o in OutcomeCode.objects.filter(is_active=True).order_by("order", "code")
    ]


@router.get(
    "/me",
    response={200: s.MeOut, 401: s.ErrorOut},
    tags=["reference"],
    operation_id="me",
    summary="The calling user, role and team",
)
def me(request):
    user = _user(request)
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.label,
        "role": user.role,
        "role_label": str(user.get_role_display()),
        "team": _code_name(user.team),
        "branch": _code_name(user.branch),
        "creditor": _code_name(user.creditor),
        "capabilities": sorted(CAPABILITIES.get(user.role, frozenset())),
    }
