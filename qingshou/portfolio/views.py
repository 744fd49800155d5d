"""Case pages: the collector's queue, the case list, the case page, Get Next and the PII reveal."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Prefetch, Subquery
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tables2 import RequestConfig

from qingshou.core.errors import ActionError
from qingshou.core.masking import mask_phone
from qingshou.core.scoping import can, get_visible_case, visible_cases, workable_cases
from qingshou.core.templatetags.qs import money
from qingshou.core.views import action_error_messages, deny, parse_pk, require_capability
from qingshou.portfolio.actions import do_get_next, do_reveal_pii
from qingshou.portfolio.filters import CaseFilter, QueueFilter
from qingshou.portfolio.models import CaseEvent, CaseHold, CaseStatus, HoldReason, Phone, Relation
from qingshou.portfolio.tables import CaseTable, QueueTable
from qingshou.strategy.queue import annotate_priority, work_queue

PER_PAGE = 50

# Reasons the system writes itself (English keys in the data), shown translated on the timeline.
SYSTEM_REASONS = {"paid in full": gettext_noop("paid in full"),
                  "placement period ended": gettext_noop("placement period ended"),
                  "settled by agreement": gettext_noop("settled by agreement")}


def with_list_columns(qs):
    """What the case tables show, without a query per row."""
    debtor_phone = (
        Phone.objects.filter(party__debtor_id=OuterRef("debtor_id"), party__relation=Relation.SELF)
        .order_by("id")
        .values("number")[:1]
    )
    return qs.select_related("debtor", "creditor", "assigned_to").annotate(
        debtor_phone=Subquery(debtor_phone)
    )


def table_page(request, table_class, filterset, **table_kwargs):
    table = table_class(filterset.qs, **table_kwargs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


@require_capability("queue.own")
@require_GET
def queue(request):
    qs = with_list_columns(work_queue(request.user))
    filterset = QueueFilter(request.GET or None, queryset=qs, request=request)
    table = table_page(request, QueueTable, filterset)
    return render(
        request,
        "portfolio/queue.html",
        {
            "filter": filterset,
            "table": table,
            "total": qs.count(),
            "title": _("My cases"),
        },
    )


@require_capability("case.read")
@require_GET
def case_list(request):
    qs = with_list_columns(annotate_priority(visible_cases(request.user))).order_by(
        "priority", "-total_due", "pk"
    )
    filterset = CaseFilter(request.GET or None, queryset=qs, request=request)
    table = table_page(request, CaseTable, filterset)
    return render(
        request, "portfolio/case_list.html", {"filter": filterset, "table": table, "title": _("Cases")}
    )


@require_capability("queue.own")
@require_POST
def get_next(request):
    case = do_get_next(acting_user=request.user)
    if case is None:
        messages.info(request, _("Your queue is empty: no case is due for work right now."))
        return redirect("portfolio:queue")
    return redirect("portfolio:case", pk=case.pk)


# --- the case page ------------------------------------------------------------------------------


def _dur(seconds) -> str:
    seconds = int(seconds or 0)
    m, s = divmod(seconds, 60)
    return _("%(m)s min %(s)s s") % {"m": m, "s": s} if m else _("%(s)s s") % {"s": s}


def _checklist_text(checklist: dict) -> str:
    from qingshou.contact.models import FIRST_CALL_CHECKLIST

    items = []
    for key, label in FIRST_CALL_CHECKLIST:
        entry = checklist.get(key)
        if isinstance(entry, dict) and (entry.get("asked") or entry.get("note")):
            items.append(f"{label}：{entry.get('note') or '✓'}")
    return _("First-call checklist") + "： " + "；".join(items) if items else ""


def _user_label(u):
    return u.label if u else _("system")


def describe_events(events) -> list[dict]:
    """Each timeline event as {at, user, kind, title, summary, notes} in the user's language."""
    from qingshou.compliance.models import ComplianceDecision
    from qingshou.contact.models import Channel, ContactAttempt, Direction

    events = list(events)
    contact_ids = [e.data.get("contact_id") for e in events if e.type == CaseEvent.Type.CONTACT_LOGGED]
    decision_ids = [e.data.get("decision_id") for e in events if e.type == CaseEvent.Type.CONTACT_REFUSED]
    contacts = (
        ContactAttempt.objects.filter(pk__in=[i for i in contact_ids if i])
        .select_related("outcome", "party", "phone", "collector")
        .in_bulk()
    )
    decisions = ComplianceDecision.objects.filter(pk__in=[i for i in decision_ids if i]).in_bulk()
    english = (get_language() or "").startswith("en")
    T = CaseEvent.Type

    def label(choices, value):
        try:
            return str(choices(value).label)
        except ValueError:
            return value or ""

    out = []
    for e in events:
        d = e.data or {}
        summary, notes, kind = "", "", e.type
        if e.type == T.CONTACT_LOGGED:
            c = contacts.get(d.get("contact_id"))
            if c is not None:
                parts = [
                    label(Channel, c.channel),
                    label(Direction, c.direction),
                    c.outcome.label,
                    f"{c.party.name}（{c.party.get_relation_display()}）",
                ]
                if c.phone_id:
                    parts.append(mask_phone(c.phone.number))
                if c.duration_seconds:
                    parts.append(_dur(c.duration_seconds))
                summary = " · ".join(str(p) for p in parts)
                notes = c.notes
                if c.checklist:
                    notes = (notes + "\n" if notes else "") + _checklist_text(c.checklist)
            else:
                summary = f"{label(Channel, d.get('channel'))} · {d.get('outcome', '')}"
        elif e.type == T.CONTACT_REFUSED:
            dec = decisions.get(d.get("decision_id"))
            if dec is not None:
                msgs = [
                    r.get("message_en" if english else "message_zh") or r.get("rule", "") for r in dec.reasons
                ]
                summary = "；".join(msgs)
                if dec.next_allowed_at:
                    notes = _("next contact allowed at %(at)s") % {
                        "at": timezone.localtime(dec.next_allowed_at).strftime("%Y-%m-%d %H:%M")
                    }
            else:
                summary = ", ".join(d.get("rules", []))
            kind = "refused"
        elif e.type == T.PROMISE_MADE:
            summary = _("%(amount)s yuan by %(date)s") % {
                "amount": money(d.get("amount")),
                "date": d.get("due_date"),
            }
        elif e.type == T.PROMISE_KEPT:
            summary = _("%(amount)s yuan, paid %(paid)s") % {
                "amount": money(d.get("amount")),
                "paid": money(d.get("paid")),
            }
        elif e.type == T.PROMISE_BROKEN:
            summary = _("%(amount)s yuan due %(date)s, paid %(paid)s") % {
                "amount": money(d.get("amount")),
                "date": d.get("due_date"),
                "paid": money(d.get("paid")),
            }
        elif e.type == T.PAYMENT_RECEIVED:
            summary = _("%(amount)s yuan (ref. %(ref)s)") % {
                "amount": money(d.get("amount")),
                "ref": d.get("ref", ""),
            }
        elif e.type in (T.HOLD_PLACED, T.HOLD_RELEASED):
            summary = label(HoldReason, d.get("reason"))
            notes = d.get("note", "")
        elif e.type == T.STATUS_CHANGED:
            summary = f"{label(CaseStatus, d.get('old'))} → {label(CaseStatus, d.get('new'))}"
            notes = _(SYSTEM_REASONS[d.get("reason")]) if d.get("reason") in SYSTEM_REASONS else d.get("reason", "")
        elif e.type == T.PHONE_STATUS:
            old, new = label(Phone.Status, d.get("old")), label(Phone.Status, d.get("new"))
            summary = f"{d.get('phone', '')}: {old} → {new}"
        elif e.type == T.PII_REVEALED:
            what = d.get("what", "")
            summary = _("ID number") if what == "id_number" else _("phone number")
            notes = d.get("reason", "")
        elif e.type == T.ASSIGNED:
            summary = _("to %(to)s") % {"to": d.get("to", "")}
            notes = d.get("reason", "")
        elif e.type == T.REASSIGNED:
            summary = f"{d.get('from') or '—'} → {d.get('to') or '—'}"
            notes = d.get("reason", "")
        elif e.type == T.WITHDRAWN:
            summary = _("from %(from)s") % {"from": d.get("from", "")}
            notes = d.get("reason", "")
        elif e.type == T.RECALLED:
            summary = _("was %(old)s") % {"old": label(CaseStatus, d.get("old"))}
            if d.get("from"):
                summary += " · " + _("from %(from)s") % {"from": d.get("from")}
            notes = _(SYSTEM_REASONS[d.get("reason")]) if d.get("reason") in SYSTEM_REASONS else d.get("reason", "")
        elif e.type == T.RETAINED:
            summary = _("until %(date)s") % {"date": d.get("until", "")}
            notes = d.get("reason", "")
        elif e.type == T.PLACED:
            summary = _("batch %(code)s, balance %(total)s") % {
                "code": d.get("placement", ""),
                "total": money(d.get("total_due")),
            }
        else:
            summary = d.get("text", "")
        out.append(
            {
                "at": e.at,
                "user": _user_label(e.user),
                "kind": kind,
                "title": e.get_type_display(),
                "summary": summary,
                "notes": notes,
            }
        )
    return out


def case_context(request, case, *, form=None, refusal=None) -> dict:
    from qingshou.contact.forms import LogContactForm

    user = request.user
    workable = workable_cases(user).filter(pk=case.pk).exists()
    if workable and form is None:
        form = LogContactForm(case=case)
    parties = case.debtor.parties.prefetch_related(
        Prefetch("phones", queryset=Phone.objects.order_by("id")), "addresses"
    )
    events = CaseEvent.objects.filter(case=case).select_related("user")[:300]
    now = timezone.now()
    return {
        "case": case,
        "debtor": case.debtor,
        "parties": parties,
        "holds": CaseHold.objects.filter(case=case, released_at__isnull=True),
        "timeline": describe_events(events),
        "promises": case.promises.select_related("created_by").order_by("-created_at")[:50],
        "payments": case.payments.order_by("-paid_at")[:50],
        "locked": bool(case.locked_until and case.locked_until > now and case.locked_by_id),
        "locked_by_me": case.locked_by_id == user.pk and case.locked_until and case.locked_until > now,
        "form": form if workable else None,
        "refusal": refusal,
        "can_reveal": can(user, "pii.reveal"),
        "can_get_next": can(user, "queue.own"),
        "english": (get_language() or "").startswith("en"),
        "title": case.account_number,
    }


@login_required
@require_GET
def case_detail(request, pk):
    case = get_visible_case(request.user, pk)
    return render(request, "portfolio/case_detail.html", case_context(request, case))


@login_required
@require_GET
def phone_options(request, pk):
    """HTMX: the <option>s of the phone select for the chosen person."""
    case = get_visible_case(request.user, pk)
    if not workable_cases(request.user).filter(pk=case.pk).exists():
        deny(request, "case.work", case_id=case.pk)
    party_id = parse_pk(request.GET.get("party"))
    phones = Phone.objects.filter(party__debtor_id=case.debtor_id)
    if party_id:
        phones = phones.filter(party_id=party_id)
    return render(request, "portfolio/_phone_options.html", {"phones": phones.order_by("id")})


@login_required
@require_http_methods(["GET", "POST"])
def reveal(request, pk):
    """HTMX: GET the small reason form, POST it to see one full number (audited)."""
    case = get_visible_case(request.user, pk)
    if not can(request.user, "pii.reveal"):
        deny(request, "pii.reveal", case_id=case.pk)
    what = (request.POST.get("what") if request.method == "POST" else request.GET.get("what")) or ""
    what = what.replace("\x00", "")[:40]
    ctx = {"case": case, "what": what, "errors": []}
    if request.method == "POST":
        reason = (request.POST.get("reason") or "").replace("\x00", "").strip()[:300]
        ctx["reason"] = reason
        try:
            ctx["value"] = do_reveal_pii(case, what=what, reason=reason, acting_user=request.user)
        except ActionError as exc:
            ctx["errors"] = [m for ms in action_error_messages(exc).values() for m in ms]
    return render(request, "portfolio/_reveal.html", ctx)
