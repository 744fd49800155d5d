"""Debtor self-service: signed expiring links, the identity check with lockout, and what the debtor may do
(promise, plan request, dispute, times not to be called) through the same actions, audit and compliance."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from qingshou.compliance.models import ContactPreference
from qingshou.core.models import AuditLog
from qingshou.payments.models import Promise
from qingshou.portfolio.models import CaseEvent, CaseHold
from qingshou.selfservice.actions import (
    SERVICE_USERNAME,
    do_issue_link,
    do_revoke_link,
    link_token,
    resolve_token,
)
from qingshou.selfservice.models import IdentityAttempt, SelfServiceLink

BIRTH = "1990-01-01"   # tests.factories builds ID numbers 11010119900101nnnn


def issue(world, case=None, **kw):
    return do_issue_link(case or world.case, acting_user=world.collector, **kw)


def verify_url(link):
    return reverse("selfservice:verify", kwargs={"token": link_token(link)})


def home_url(link):
    return reverse("selfservice:home", kwargs={"token": link_token(link)})


def last4(case):
    return case.debtor.id_number[-4:]


def confirm(client, link, case):
    r = client.post(verify_url(link), {"id_last4": last4(case), "birth_date": BIRTH})
    assert r.status_code == 302 and r["Location"].endswith("/account/") and link.key in r["Location"]
    return r


def test_link_is_signed_counted_and_audited(world, client):
    issued = issue(world)
    link = issued.link
    token = issued.url.split("/s/")[1].rstrip("/")
    assert token.startswith(link.key + ":") and resolve_token(token) == link
    assert resolve_token(link_token(link)) == link
    assert AuditLog.objects.filter(action="selfservice.link", object_id=str(link.pk)).exists()
    assert CaseEvent.objects.filter(case=world.case, type="ss_link").exists()
    r = client.get(verify_url(link))
    assert r.status_code == 200 and "身份" in r.content.decode()
    link.refresh_from_db()
    assert link.opened_count == 1
    # only the case's collector (or leader/supervisor) may issue one
    from qingshou.core.errors import ActionError

    with pytest.raises(ActionError):
        do_issue_link(world.case, acting_user=world.collector_peer)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),       # forged signature
    lambda t: "x" + t,                                                   # altered key
    lambda t: "nonsense",
])
def test_bad_link_is_refused(world, client, mangle):
    link = issue(world).link
    r = client.get(reverse("selfservice:verify", kwargs={"token": mangle(link_token(link))}))
    assert r.status_code == 403 and "链接无效" in r.content.decode()


def test_expired_and_revoked_links_are_refused(world, client, settings):
    link = issue(world).link
    url = verify_url(link)
    with time_machine.travel(timezone.now() + timedelta(days=settings.SELFSERVICE_LINK_DAYS, minutes=1)):
        r = client.get(url)
        assert r.status_code == 403 and "已过期" in r.content.decode()
    assert client.get(url).status_code == 200
    do_revoke_link(link, acting_user=world.collector)
    r = client.get(url)
    assert r.status_code == 403 and "已失效" in r.content.decode()
    assert AuditLog.objects.filter(action="selfservice.revoke", object_id=str(link.pk)).exists()


def test_identity_failure_then_lockout_after_n_attempts(world, client, settings):
    settings.SELFSERVICE_MAX_ATTEMPTS = 3
    link = issue(world).link
    url = verify_url(link)
    r = client.post(url, {"id_last4": "0000", "birth_date": BIRTH})
    assert r.status_code == 200 and "还可尝试 2 次" in r.content.decode()
    client.post(url, {"id_last4": last4(world.case), "birth_date": "1990-01-02"})     # right ID, wrong birthday
    r = client.post(url, {"id_last4": "9999", "birth_date": BIRTH})
    assert r.status_code == 429 and "已锁定" in r.content.decode()
    # even the right answer is refused while locked, and the home page stays closed
    r = client.post(url, {"id_last4": last4(world.case), "birth_date": BIRTH})
    assert r.status_code == 429 and "已锁定" in r.content.decode()
    assert client.get(home_url(link)).status_code == 302
    link.refresh_from_db()
    assert link.failed_count == 3 and link.locked_until > timezone.now() and link.verified_count == 0
    rows = AuditLog.objects.filter(action="selfservice.verify", object_id=str(link.pk))
    assert rows.count() == 4 and not rows.filter(data__success=True).exists()
    assert rows.filter(data__refused="link_locked").count() == 1
    assert IdentityAttempt.objects.filter(link=link).count() == 3
    # after the lock period the debtor can try again
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.SELFSERVICE_LOCK_MINUTES + 1)):
        confirm(client, link, world.case)


def test_too_many_failures_from_one_ip_locks_that_ip(world, client, settings):
    settings.SELFSERVICE_IP_MAX_ATTEMPTS = 2
    for case in (world.case, world.case_peer):
        client.post(verify_url(issue(world, case if case == world.case else None).link),
                    {"id_last4": "0000", "birth_date": BIRTH})
    other = issue(world).link
    r = client.post(verify_url(other), {"id_last4": last4(world.case), "birth_date": BIRTH})
    assert r.status_code == 429 and "网络" in r.content.decode()
    assert AuditLog.objects.filter(action="selfservice.verify", data__refused="ip_locked").exists()


def test_debtor_sees_only_their_own_masked_debt(world, client):
    link = issue(world).link
    assert client.get(home_url(link)).status_code == 302                # not verified yet
    confirm(client, link, world.case)
    page = client.get(home_url(link)).content.decode()
    case = world.case
    assert "****" + case.account_number[-4:] in page and case.account_number not in page
    assert case.debtor.id_number not in page
    assert "12,000.00" in page and "本金" in page and "利息" in page
    assert world.case_peer.debtor.name not in page
    # the session is bound to this link: another debtor's link asks again
    other = issue(world, world.case).link
    assert client.get(home_url(other)).status_code == 302
    # no staff session was created
    assert "_auth_user_id" not in client.session


def test_debtor_promise_goes_through_the_payments_rules(world, client):
    link = issue(world).link
    confirm(client, link, world.case)
    url = reverse("selfservice:promise", kwargs={"token": link_token(link)})
    day = timezone.localdate() + timedelta(days=5)
    r = client.post(url, {"amount": "99999", "due_date": day.isoformat()}, follow=True)
    assert "超过" in r.content.decode() and not Promise.objects.filter(case=world.case).exists()
    r = client.post(url, {"amount": "800", "due_date": (timezone.localdate() + timedelta(days=90)).isoformat()},
                    follow=True)
    assert not Promise.objects.filter(case=world.case).exists()
    r = client.post(url, {"amount": "800.00", "due_date": day.isoformat()}, follow=True)
    promise = Promise.objects.get(case=world.case)
    assert promise.amount == Decimal("800.00") and promise.due_date == day
    assert promise.created_by.username == SERVICE_USERNAME and not promise.created_by.is_active
    assert promise.party.relation == "self"
    assert AuditLog.objects.filter(action="promise.create", object_id=str(promise.pk)).exists()
    assert AuditLog.objects.filter(action="selfservice.promise", data__link_id=link.pk).exists()
    assert CaseEvent.objects.filter(case=world.case, type="promise_made").exists()
    assert "800.00" in r.content.decode()


def test_dispute_places_the_dispute_hold(world, client):
    link = issue(world).link
    confirm(client, link, world.case)
    url = reverse("selfservice:dispute", kwargs={"token": link_token(link)})
    r = client.post(url, {"text": "这笔消费不是我本人所为，已报警"}, follow=True)
    hold = CaseHold.objects.get(case=world.case, reason="dispute", released_at__isnull=True)
    assert "不是我本人" in hold.note
    assert AuditLog.objects.filter(action="case.hold", case_id=world.case.pk, data__hold="dispute").exists()
    assert AuditLog.objects.filter(action="selfservice.dispute", case_id=world.case.pk).exists()
    assert "暂停" in r.content.decode()


def test_dispute_then_calls_are_refused_by_compliance(office_hours, world, client):
    from qingshou.compliance.hook import ContactRequest, check_contact

    link = issue(world).link
    confirm(client, link, world.case)
    client.post(reverse("selfservice:dispute", kwargs={"token": link_token(link)}), {"text": "金额不对，我已还款"})
    party = world.case.debtor.parties.get(relation="self")
    decision = check_contact(ContactRequest(case_id=world.case.pk, party_id=party.pk, channel="call",
                                            at=timezone.now(), party_is_debtor=True, party_relation="self",
                                            phone_id=party.phones.first().pk, institution_stated=True))
    assert not decision.allowed and any("dispute" in r.rule for r in decision.reasons)


def test_times_not_to_be_called_are_stored_as_compliance_preferences(world, client):
    link = issue(world).link
    confirm(client, link, world.case)
    url = reverse("selfservice:quiet", kwargs={"token": link_token(link)})
    client.post(url, {"start": "12:00", "end": "14:00", "weekdays": ["0", "4"]})
    pref = ContactPreference.objects.get(debtor=world.case.debtor)
    assert (pref.kind, f"{pref.start:%H:%M}", f"{pref.end:%H:%M}", pref.weekdays) == (
        "inconvenient", "12:00", "14:00", [0, 4])
    assert AuditLog.objects.filter(action="preference.add", object_id=str(pref.pk)).exists()
    assert CaseEvent.objects.filter(case=world.case, type="pref_added").exists()
    r = client.post(url, {"start": "12:00", "end": "12:00"}, follow=True)
    assert ContactPreference.objects.filter(debtor=world.case.debtor).count() == 1
    assert "不同" in r.content.decode() or "开始" in r.content.decode()


def test_plan_request_is_recorded(world, client):
    link = issue(world).link
    confirm(client, link, world.case)
    url = reverse("selfservice:plan", kwargs={"token": link_token(link)})
    client.post(url, {"instalments": "1", "first_payment": "100", "hardship_reason": "失业"})
    before = AuditLog.objects.count()
    client.post(url, {"instalments": "6", "first_payment": "500", "hardship_reason": "失业，收入减少"})
    assert AuditLog.objects.count() > before
    from qingshou.selfservice.actions import _plan_action

    if _plan_action() is None:                      # without h3's arrangements app: a timeline request
        ev = CaseEvent.objects.get(case=world.case, type="ss_plan_request")
        assert ev.data["instalments"] == 6 and ev.data["first_payment"] == "500.00"
        assert AuditLog.objects.filter(action="selfservice.plan_request", case_id=world.case.pk).count() == 1
    else:                                           # with it: the same plan request staff make, via self-service
        from qingshou.arrangements.models import RepaymentPlan

        plan = RepaymentPlan.objects.get(case=world.case)
        assert plan.via == "self_service" and plan.status == "pending_leader"
    page = client.get(home_url(link)).content.decode()
    assert "分期" in page


def test_staff_page_issues_and_revokes_links(world, client):
    client.force_login(world.collector)
    url = reverse("selfservice:case_links", kwargs={"pk": world.case.pk})
    r = client.post(url, {})
    assert r.status_code == 200
    link = SelfServiceLink.objects.get(case=world.case)
    assert f"/s/{link.key}:" in r.content.decode()                     # the signed URL is shown once
    r = client.post(reverse("selfservice:revoke", kwargs={"pk": link.pk}))
    assert r.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == world.collector
    # read-only creditor user: 403 and audited
    client.force_login(world.creditor_user_a)
    assert client.get(url).status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", actor=world.creditor_user_a).exists()


def test_link_sent_by_approved_sms_template(office_hours, world):
    from qingshou.messaging.actions import do_approve_version, do_create_template, do_submit_version
    from qingshou.messaging.models import SmsMessage

    v = do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="sms", code="selfservice",
                           name="自助链接", body="{debtor_name}您好，您可通过以下链接查询账户并办理还款：{link}")
    do_submit_version(v, acting_user=world.supervisor)
    do_approve_version(v, acting_user=world.creditor_user_a)
    issued = issue(world, send_sms=True, base_url="https://pay.example.cn/")
    sms = SmsMessage.objects.get(pk=issued.sms.pk)
    assert sms.status == "queued" and issued.url in sms.body and issued.url.startswith("https://pay.example.cn/s/")
    assert issued.link.sms_id == sms.pk


def test_birth_date_from_record_wins_over_id_number(world, client):
    debtor = world.case.debtor
    debtor.birth_date = date(1985, 6, 15)
    debtor.save()
    link = issue(world).link
    r = client.post(verify_url(link), {"id_last4": last4(world.case), "birth_date": BIRTH})
    assert r.status_code == 200
    r = client.post(verify_url(link), {"id_last4": last4(world.case).lower(), "birth_date": "1985-06-15"})
    assert r.status_code == 302
