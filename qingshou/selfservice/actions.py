"""Debtor self-service: links (signed, expiring, revocable, counted), the identity check, and what the
debtor may do — each through the same actions staff use (payments, holds, compliance preferences).

The URL carries `TimestampSigner(salt=SALT).sign(link.key)`: a forged or altered token fails the
signature, an old one fails `max_age`, and the row can still be revoked or expire earlier. What the
debtor does is recorded with the service account `selfservice` (inactive, cannot log in) as the actor,
so the audit log and the timeline say "debtor self-service" rather than naming a collector.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, time, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one
from qingshou.core.scoping import workable_cases
from qingshou.portfolio import events
from qingshou.portfolio.models import Case, CaseStatus, HoldReason
from qingshou.selfservice.models import IdentityAttempt, SelfServiceLink

SALT = "qingshou.selfservice.link"
SERVICE_USERNAME = "selfservice"
IP_WINDOW = timedelta(hours=1)


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def link_token(link: SelfServiceLink) -> str:
    return _signer().sign(link.key)


class LinkError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code   # "bad" | "expired" | "revoked"


def resolve_token(token: str) -> SelfServiceLink:
    """The link a token names, or LinkError("bad" / "expired" / "revoked")."""
    try:
        key = _signer().unsign(token or "", max_age=timedelta(days=settings.SELFSERVICE_LINK_DAYS))
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except signing.BadSignature:
        raise LinkError("bad") from None
    link = SelfServiceLink.objects.select_related("case__debtor", "case__creditor").filter(key=key).first()
    if link is None:
        raise LinkError("bad")
    if link.revoked_at is not None:
        raise LinkError("revoked")
    if link.expires_at <= timezone.now():
        raise LinkError("expired")
    return link


def service_user():
    """The account self-service actions are recorded under: inactive, no usable password, no team."""
    from qingshou.org.models import Role, User

    user = User.objects.filter(username=SERVICE_USERNAME).first()
    if user is None:
        user = User(username=SERVICE_USERNAME, role=Role.COLLECTOR, display_name="债务人自助服务", is_active=False)
        user.set_unusable_password()
        user.save()
    return user


def link_url(link: SelfServiceLink, base_url: str = "") -> str:
    from django.urls import reverse

    path = reverse("selfservice:verify", kwargs={"token": link_token(link)})
    base = (settings.SELFSERVICE_BASE_URL or base_url or "").rstrip("/")
    return f"{base}{path}"


@dataclass
class IssuedLink:
    link: SelfServiceLink
    url: str
    sms: object = None

    @property
    def sms_refused(self) -> bool:
        return self.sms is not None and self.sms.status == "refused"


@transaction.atomic(durable=True)
def do_issue_link(case: Case, *, acting_user, send_sms: bool = False, base_url: str = "") -> IssuedLink:
    """A new link for the case's debtor; with `send_sms`, sent by the creditor-approved SMS template
    (settings.SELFSERVICE_SMS_TEMPLATE, with a {link} placeholder) through the compliance engine."""
    if not workable_cases(acting_user).filter(pk=case.pk).exists():
        raise ActionError({"case": _("You may not work this case.")})
    case = lock_one(Case, case.pk)
    if case.status != CaseStatus.ACTIVE:
        raise ActionError({"case": _("Links are only sent for cases in collection.")})
    link = SelfServiceLink.objects.create(
        key=secrets.token_urlsafe(16), case=case, created_by=acting_user,
        expires_at=timezone.now() + timedelta(days=settings.SELFSERVICE_LINK_DAYS))
    url = link_url(link, base_url)
    message = None
    if send_sms:
        from qingshou.messaging.actions import debtor_sms_phone, queue_sms
        from qingshou.messaging.templates import TemplateKind, approved_version

        version = approved_version(case.creditor, TemplateKind.SMS, settings.SELFSERVICE_SMS_TEMPLATE)
        party, phone = debtor_sms_phone(case)
        if phone is None:
            raise ActionError({"phone": _("The debtor has no usable mobile number.")})
        message = queue_sms(case, party=party, phone=phone, version=version, acting_user=acting_user,
                            extra={"link": url})
        link.sms = message
        link.save(update_fields=["sms"])
    events.selfservice_link(case, link, user=acting_user, sms_id=message.pk if message else None)
    audit("selfservice.link", actor=acting_user, obj=link, case_id=case.pk, expires=link.expires_at,
          sms_id=message.pk if message else None, sms_status=message.status if message else "")
    return IssuedLink(link=link, url=url, sms=message)


@transaction.atomic(durable=True)
def do_revoke_link(link: SelfServiceLink, *, acting_user) -> SelfServiceLink:
    if not workable_cases(acting_user).filter(pk=link.case_id).exists():
        raise ActionError({"case": _("You may not work this case.")})
    link = lock_one(SelfServiceLink, link.pk)
    if link.revoked_at is not None:
        raise ActionError({"link": _("This link was already revoked.")})
    link.revoked_at = timezone.now()
    link.revoked_by = acting_user
    link.save(update_fields=["revoked_at", "revoked_by"])
    audit("selfservice.revoke", actor=acting_user, obj=link, case_id=link.case_id)
    return link


# --- the identity check ---------------------------------------------------------------------------

@dataclass
class Verification:
    ok: bool
    locked: bool = False
    remaining: int = 0
    message: str = ""


def expected_birth_date(debtor) -> date | None:
    if debtor.birth_date:
        return debtor.birth_date
    from qingshou.core.idnumbers import InvalidIdNumber, parse

    try:
        return parse(debtor.id_number).birth_date
    except (InvalidIdNumber, AttributeError, TypeError, ValueError):
        number = (debtor.id_number or "").strip()
        if len(number) == 18 and number[6:14].isdigit():
            try:
                return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            except ValueError:
                return None
        return None


def _locked_message(until) -> str:
    return _("Too many failed attempts. For your security this link is locked until %(time)s. "
             "Please try again later or call us.") % {"time": timezone.localtime(until).strftime("%H:%M")}


@transaction.atomic(durable=True)
def do_verify_identity(link: SelfServiceLink, *, id_last4: str, birth_date: date | None, ip: str | None
                       ) -> Verification:
    """Check the last 4 characters of the ID number and the date of birth. Every attempt is stored and
    audited; N failures in a row lock the link for a while, and too many failures from one IP lock that IP."""
    link = lock_one(SelfServiceLink, link.pk)
    now = timezone.now()
    if not link.is_live(now):
        raise ActionError({"link": _("This link is no longer valid.")})
    if link.is_locked(now):
        audit("selfservice.verify", actor=None, obj=link, case_id=link.case_id, success=False, ip=ip,
              refused="link_locked")
        return Verification(ok=False, locked=True, message=_locked_message(link.locked_until))
    if ip and IdentityAttempt.objects.filter(ip=ip, success=False, at__gte=now - IP_WINDOW).count() \
            >= settings.SELFSERVICE_IP_MAX_ATTEMPTS:
        audit("selfservice.verify", actor=None, obj=link, case_id=link.case_id, success=False, ip=ip,
              refused="ip_locked")
        return Verification(ok=False, locked=True, message=_(
            "Too many failed attempts from your network. Please try again in an hour or call us."))
    debtor = link.case.debtor
    expected_tail = (debtor.id_number or "")[-4:].upper()
    given_tail = (id_last4 or "").strip().upper()
    born = expected_birth_date(debtor)
    ok = (len(expected_tail) == 4 and hmac.compare_digest(expected_tail.encode(), given_tail.encode())
          and born is not None and birth_date == born)
    IdentityAttempt.objects.create(link=link, ip=ip or None, at=now, success=ok)
    link.last_used_at = now
    if ok:
        link.verified_count += 1
        link.streak = 0
        link.save(update_fields=["verified_count", "streak", "last_used_at"])
        events.selfservice_verified(link.case, link)
        audit("selfservice.verify", actor=None, obj=link, case_id=link.case_id, success=True, ip=ip)
        return Verification(ok=True)
    link.failed_count += 1
    link.streak += 1
    locked = link.streak >= settings.SELFSERVICE_MAX_ATTEMPTS
    if locked:
        link.locked_until = now + timedelta(minutes=settings.SELFSERVICE_LOCK_MINUTES)
        link.streak = 0
    link.save(update_fields=["failed_count", "streak", "locked_until", "last_used_at"])
    audit("selfservice.verify", actor=None, obj=link, case_id=link.case_id, success=False, ip=ip, locked=locked)
    if locked:
        return Verification(ok=False, locked=True, message=_locked_message(link.locked_until))
    remaining = settings.SELFSERVICE_MAX_ATTEMPTS - link.streak
    return Verification(ok=False, remaining=remaining, message=_(
        "The details do not match our records. %(n)s attempt(s) left.") % {"n": remaining})


def note_opened(link: SelfServiceLink) -> None:
    from django.db.models import F

    SelfServiceLink.objects.filter(pk=link.pk).update(opened_count=F("opened_count") + 1)


# --- what the debtor may do -----------------------------------------------------------------------

def _live_case(link: SelfServiceLink) -> Case:
    link = lock_one(SelfServiceLink, link.pk)
    if not link.is_live():
        raise ActionError({"link": _("This link is no longer valid.")})
    return lock_one(Case, link.case_id)


def debtor_party(case):
    return case.debtor.parties.filter(relation="self").first()


@transaction.atomic(durable=True)
def do_self_promise(link: SelfServiceLink, *, amount, due_date):
    """The debtor promises to pay: the payments app's promise, validated by the same limits."""
    from qingshou.payments.actions import create_promise

    case = _live_case(link)
    if case.status != CaseStatus.ACTIVE:
        raise ActionError({"case": _("This account is not in collection any more; please call us.")})
    user = service_user()
    promise = create_promise(case, amount=amount, due_date=due_date, acting_user=user, party=debtor_party(case))
    audit("selfservice.promise", actor=user, obj=promise, case_id=case.pk, link_id=link.pk, amount=amount,
          due_date=due_date)
    return promise


@transaction.atomic(durable=True)
def do_self_dispute(link: SelfServiceLink, *, text: str):
    """The debtor disputes the debt: the dispute hold stops collection until staff have checked it."""
    from qingshou.portfolio.actions import place_hold

    text = (text or "").strip()
    if len(text) < 4:
        raise ActionError({"text": _("Please describe what you dispute (at least a few words).")})
    case = _live_case(link)
    user = service_user()
    hold = place_hold(case, HoldReason.DISPUTE, acting_user=user, note=f"自助服务异议：{text}"[:300])
    audit("selfservice.dispute", actor=user, obj=case, link_id=link.pk, text=text[:500],
          hold_id=hold.pk if hold else None)
    return hold


def do_self_quiet_times(link: SelfServiceLink, *, start: time, end: time, weekdays=(), note: str = ""):
    """Times the debtor does not want to be called: the compliance app's preference (its own action and audit)."""
    from qingshou.compliance.actions import do_add_contact_preference
    from qingshou.compliance.models import ContactPreference

    link.refresh_from_db()
    if not link.is_live():
        raise ActionError({"link": _("This link is no longer valid.")})
    return do_add_contact_preference(acting_user=service_user(), kind=ContactPreference.Kind.INCONVENIENT,
                                     start=start, end=end, debtor=link.case.debtor, weekdays=weekdays,
                                     note=("自助服务：" + (note or "").strip())[:300])


def _plan_action():
    try:
        from qingshou.arrangements.actions import do_request_plan
    except ImportError:
        return None
    return do_request_plan


MAX_INSTALMENTS = 36


def validate_plan_request(case, instalments, first_payment, hardship_reason) -> None:
    errors = {}
    if instalments is None or not 2 <= instalments <= MAX_INSTALMENTS:
        errors["instalments"] = _("Choose between 2 and %(n)s instalments.") % {"n": MAX_INSTALMENTS}
    if first_payment is None or first_payment <= 0:
        errors["first_payment"] = _("Enter the first payment.")
    elif first_payment > case.total_due:
        errors["first_payment"] = _("The first payment exceeds the balance.")
    if not (hardship_reason or "").strip():
        errors["hardship_reason"] = _("Tell us briefly why you need a plan.")
    if errors:
        raise ActionError(errors)


def do_self_plan_request(link: SelfServiceLink, *, instalments: int, first_payment, hardship_reason: str,
                         note: str = ""):
    """Ask for a repayment plan: the arrangements app's request when it is installed, else a timeline
    entry and an audit row that staff pick up (the plan itself needs the creditor's approval either way)."""
    link.refresh_from_db()
    if not link.is_live():
        raise ActionError({"link": _("This link is no longer valid.")})
    case = Case.objects.get(pk=link.case_id)
    validate_plan_request(case, instalments, first_payment, hardship_reason)
    action = _plan_action()
    if action is not None:
        return action(case, instalments=instalments, first_payment=first_payment, hardship_reason=hardship_reason,
                      note=note, acting_user=service_user(), via="self_service")
    return _record_plan_request(link, instalments=instalments, first_payment=first_payment,
                                hardship_reason=hardship_reason, note=note)


@transaction.atomic(durable=True)
def _record_plan_request(link, *, instalments, first_payment, hardship_reason, note):
    case = _live_case(link)
    user = service_user()
    event = events.selfservice_plan_requested(case, user=user, instalments=instalments, first_payment=first_payment,
                                              reason=hardship_reason.strip()[:300], note=(note or "").strip()[:300])
    audit("selfservice.plan_request", actor=user, obj=case, link_id=link.pk, instalments=instalments,
          first_payment=first_payment, reason=hardship_reason.strip()[:300])
    return event
