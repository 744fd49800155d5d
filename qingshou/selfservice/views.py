"""The debtor's pages (public: the signed link is the key, then the identity check) and the staff page that
issues and revokes links for a case.

The debtor's session is a separate key (`qs_selfservice`) in Django's session: no staff login, nothing
shared with a staff user's authentication. It is bound to one link and lasts SELFSERVICE_SESSION_MINUTES.
"""

from __future__ import annotations

import time as _time
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.scoping import can, get_visible_case, workable_cases
from qingshou.core.views import action_error_messages, deny, parse_pk
from qingshou.payments.actions import MAX_PROMISE_DAYS
from qingshou.payments.models import Promise
from qingshou.selfservice import actions
from qingshou.selfservice.models import SelfServiceLink

SESSION_KEY = "qs_selfservice"
WEEKDAYS = [(0, "周一"), (1, "周二"), (2, "周三"), (3, "周四"), (4, "周五"), (5, "周六"), (6, "周日")]


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _link_or_error(request, token):
    """(link, None) or (None, error response) for a bad, expired or revoked link."""
    try:
        return actions.resolve_token(token), None
    except actions.LinkError as exc:
        audit("permission.denied", actor=None, reason=f"selfservice.link.{exc.code}", path=request.path[:300],
              method=request.method, ip=_client_ip(request))
        titles = {
            "bad": _("This link is not valid."),
            "expired": _("This link has expired."),
            "revoked": _("This link is no longer valid."),
        }
        response = render(request, "selfservice/invalid.html", {"title": titles[exc.code], "code": exc.code,
                                                                "hotline": settings.SMS_HOTLINE}, status=403)
        return None, response


def _verified(request, link) -> bool:
    entry = (request.session.get(SESSION_KEY) or {}).get(str(link.pk))
    return bool(entry and _time.time() - entry < settings.SELFSERVICE_SESSION_MINUTES * 60)


def _parse_date(value):
    value = (value or "").strip().replace("/", "-")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request, token):
    link, error = _link_or_error(request, token)
    if error:
        return error
    if request.method == "GET" and _verified(request, link):
        return redirect("selfservice:home", token=token)
    result = None
    if request.method == "POST":
        try:
            result = actions.do_verify_identity(link, id_last4=request.POST.get("id_last4", ""),
                                                birth_date=_parse_date(request.POST.get("birth_date")),
                                                ip=_client_ip(request))
        except ActionError:
            return _link_or_error(request, "")[1]
        if result.ok:
            request.session.cycle_key()
            store = dict(request.session.get(SESSION_KEY) or {})
            store[str(link.pk)] = int(_time.time())
            request.session[SESSION_KEY] = store
            return redirect("selfservice:home", token=token)
    else:
        actions.note_opened(link)
    locked = (result.locked if result else link.is_locked())
    message = result.message if result else (actions._locked_message(link.locked_until) if locked else "")
    return render(request, "selfservice/verify.html", {
        "title": _("Confirm your identity"), "token": token, "locked": locked, "message": message,
        "creditor": link.case.creditor.name, "hotline": settings.SMS_HOTLINE,
    }, status=429 if locked else 200)


def _require_session(request, token):
    link, error = _link_or_error(request, token)
    if error:
        return None, error
    if not _verified(request, link):
        return None, redirect("selfservice:verify", token=token)
    return link, None


@never_cache
@require_http_methods(["GET"])
def home(request, token):
    link, response = _require_session(request, token)
    if response:
        return response
    case = link.case
    promise = Promise.objects.filter(case=case, status=Promise.Status.PENDING).order_by("-id").first()
    holds = list(case.holds.filter(released_at__isnull=True))
    plan_requested = case.events.filter(type="ss_plan_request").order_by("-at").first()
    plan = None
    try:
        from qingshou.arrangements.models import RepaymentPlan  # h3's app, when installed

        plan = RepaymentPlan.objects.filter(case=case).order_by("-id").first()
    except Exception:  # noqa: BLE001 - h3's optional app, whatever its state
        plan = None
    from qingshou.compliance.models import ContactPreference
    from qingshou.letters.actions import masked_account

    prefs = ContactPreference.objects.filter(debtor_id=case.debtor_id, removed_at__isnull=True,
                                             kind=ContactPreference.Kind.INCONVENIENT)
    today = timezone.localdate()
    return render(request, "selfservice/home.html", {
        "title": _("My account"), "token": token, "case": case, "creditor": case.creditor.name,
        "account": masked_account(case.account_number),
        "promise": promise, "holds": holds, "dispute": any(h.reason == "dispute" for h in holds),
        "plan": plan, "plan_requested": plan_requested, "prefs": prefs, "weekdays": WEEKDAYS,
        "today": today.isoformat(), "max_day": (today + timedelta(days=MAX_PROMISE_DAYS)).isoformat(),
        "hotline": settings.SMS_HOTLINE, "agency": settings.SMS_AGENCY_NAME,
        "errors": request.session.pop("qs_ss_errors", {}), "active": case.status == "active",
    })


def _after(request, token, exc: ActionError | None, ok_message: str):
    if exc is not None:
        request.session["qs_ss_errors"] = action_error_messages(exc)
    else:
        messages.success(request, ok_message)
    return redirect("selfservice:home", token=token)


def _money(value):
    try:
        return Decimal(str(value).strip().replace(",", "")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


@require_POST
def promise(request, token):
    link, response = _require_session(request, token)
    if response:
        return response
    try:
        actions.do_self_promise(link, amount=_money(request.POST.get("amount")),
                                due_date=_parse_date(request.POST.get("due_date")))
    except ActionError as exc:
        return _after(request, token, exc, "")
    return _after(request, token, None, _("Thank you. Your promise to pay has been recorded."))


@require_POST
def plan(request, token):
    link, response = _require_session(request, token)
    if response:
        return response
    try:
        actions.do_self_plan_request(link, instalments=parse_pk(request.POST.get("instalments")),
                                     first_payment=_money(request.POST.get("first_payment")),
                                     hardship_reason=request.POST.get("hardship_reason", "")[:300],
                                     note=request.POST.get("note", "")[:300])
    except ActionError as exc:
        return _after(request, token, exc, "")
    return _after(request, token, None, _("Your request for a repayment plan has been sent. We will call you about "
                                          "it; the plan needs the creditor's approval."))


@require_POST
def dispute(request, token):
    link, response = _require_session(request, token)
    if response:
        return response
    try:
        actions.do_self_dispute(link, text=request.POST.get("text", "")[:1000])
    except ActionError as exc:
        return _after(request, token, exc, "")
    return _after(request, token, None, _("Your objection has been recorded. Collection is paused while we check "
                                          "it, and we will tell you the result."))


def _parse_time(value):
    try:
        return time.fromisoformat((value or "").strip())
    except ValueError:
        return None


@require_POST
def quiet(request, token):
    link, response = _require_session(request, token)
    if response:
        return response
    start, end = _parse_time(request.POST.get("start")), _parse_time(request.POST.get("end"))
    try:
        if start is None or end is None:
            raise ActionError({"end": _("Give a start and an end time that differ.")})
        actions.do_self_quiet_times(link, start=start, end=end, weekdays=request.POST.getlist("weekdays"),
                                    note=request.POST.get("note", "")[:200])
    except ActionError as exc:
        return _after(request, token, exc, "")
    return _after(request, token, None, _("Saved. We will not call you at these times."))


@require_POST
def leave(request, token):
    store = dict(request.session.get(SESSION_KEY) or {})
    try:
        link = actions.resolve_token(token)
        store.pop(str(link.pk), None)
    except actions.LinkError:
        pass
    request.session[SESSION_KEY] = store
    return redirect("selfservice:verify", token=token)


# --- staff: links of a case -------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def case_links(request, pk):
    case = get_visible_case(request.user, pk)
    if not can(request.user, "case.work") or not workable_cases(request.user).filter(pk=case.pk).exists():
        deny(request, "case.work", case_id=case.pk)
    issued, errors = None, {}
    if request.method == "POST":
        try:
            issued = actions.do_issue_link(case, acting_user=request.user, send_sms=bool(request.POST.get("send_sms")),
                                           base_url=request.build_absolute_uri("/"))
        except ActionError as exc:
            errors = action_error_messages(exc)
        else:
            if issued.sms_refused:
                messages.error(request, _("The link was created but the SMS was refused by compliance."))
            elif issued.sms is not None:
                messages.success(request, _("The link was sent by SMS."))
            else:
                messages.success(request, _("The link was created. Copy it now: it is shown only once."))
    links = SelfServiceLink.objects.filter(case=case).select_related("created_by", "revoked_by", "sms")
    return render(request, "selfservice/case_links.html", {
        "title": _("Self-service links"), "case": case, "links": links, "issued": issued, "errors": errors,
        "now": timezone.now(), "sms_template": settings.SELFSERVICE_SMS_TEMPLATE,
    })


@login_required
@require_POST
def revoke(request, pk):
    link = SelfServiceLink.objects.filter(pk=parse_pk(pk) or 0,
                                          case__in=workable_cases(request.user).values("pk")).first()
    if link is None:
        from qingshou.core.scoping import visible_cases

        if SelfServiceLink.objects.filter(pk=parse_pk(pk) or 0,
                                          case__in=visible_cases(request.user).values("pk")).exists():
            deny(request, "case.work")
        from django.http import Http404

        raise Http404("no such link")
    try:
        actions.do_revoke_link(link, acting_user=request.user)
    except ActionError as exc:
        for msgs in action_error_messages(exc).values():
            for m in msgs:
                messages.error(request, m)
    else:
        messages.success(request, _("The link was revoked."))
    return redirect("selfservice:case_links", pk=link.case_id)
