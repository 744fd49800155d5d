"""SMS: compliance before sending, the HTTP gateway contract against a fake gateway over real HTTP,
retries, permanent failures, receipts, opt-out replies and bulk sends."""

import contextlib
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from qingshou.compliance.models import DoNotContact
from qingshou.contact.models import ContactAttempt
from qingshou.core.models import AuditLog
from qingshou.messaging import actions
from qingshou.messaging.gateways import HttpBackend, OutgoingSms, PermanentError, RetryableError, signed_headers
from qingshou.messaging.models import SmsBatch, SmsMessage, SmsStatus
from qingshou.portfolio.models import CaseEvent, Phone
from tests.factories import make_case
from tests.peers.fake_sms_gateway import FakeSmsGateway
from tests.test_messaging_templates import make_approved

SECRET = "test-gateway-secret"
SAFE = "【{agency}】{party_name}您好，请转告{debtor_name}尽快致电{hotline}。"


@pytest.fixture
def gateway(settings):
    gw = FakeSmsGateway(secret=SECRET).start()
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = gw.url
    settings.SMS_APP_SECRET = SECRET
    settings.SMS_APP_ID = "qingshou"
    settings.SMS_TIMEOUT_SECONDS = 5
    settings.TASK_MAX_ATTEMPTS = 4
    yield gw
    gw.stop()


@pytest.fixture
def console(settings, tmp_path):
    settings.SMS_BACKEND = "console"
    settings.SMS_OUTBOX = tmp_path / "outbox.jsonl"
    return settings.SMS_OUTBOX


BACKOFFS: list[float] = []


def drain(capture=None, rounds: int = 10) -> None:
    """Run the task worker until nothing is left; retries deferred by back-off are made due at once
    (their back-off in seconds is kept in BACKOFFS)."""
    for _ in range(rounds):
        worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                        max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
        ctx = capture(execute=True) if capture else contextlib.nullcontext()
        with ctx, mock.patch(f"{Worker.__module__}.close_old_connections"):
            worker.run()
        pending = DBTaskResult.objects.filter(status="READY")
        if not pending.exists():
            return
        for row in pending:
            BACKOFFS.append((row.run_after - row.enqueued_at).total_seconds())
        pending.update(run_after=timezone.now() - timedelta(seconds=1))


def debtor(case):
    party = case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def send(world, case=None, **kw):
    case = case or world.case
    party, phone = debtor(case)
    version = kw.pop("version", None) or make_approved(world)
    return actions.do_send_sms(case, party=kw.pop("party", party), phone=kw.pop("phone", phone), version=version,
                               acting_user=kw.pop("user", world.collector))


def test_signature_contract():
    body = b'{"a":1}'
    headers = signed_headers("k", "app", body)
    from qingshou.messaging.gateways import verify

    assert verify("k", headers, body, max_skew=60)
    assert not verify("other", headers, body, max_skew=60)
    assert not verify("k", headers, body + b" ", max_skew=60)
    assert not verify("k", headers, body, max_skew=60, now=int(headers["X-Timestamp"]) + 120)


@pytest.mark.django_db
def test_send_receipt_delivered_over_http(office_hours, world, gateway, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world)
    assert message.status == SmsStatus.QUEUED
    drain(django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.gateway_id.startswith("gw-") and message.attempts == 1
    sent = gateway.received[0]
    party, phone = debtor(world.case)
    assert sent["phone"] == phone.number and sent["out_id"] == f"qs-{message.pk}"
    assert sent["template_id"] == f"bank-a.remind.v{message.template_version.number}"
    assert world.case.debtor.name in sent["content"] and world.case.account_number[-4:] in sent["content"]
    # A sent SMS is a contact record (channel sms) with the compliance decision.
    contact = ContactAttempt.objects.get(pk=message.contact_id)
    assert (contact.channel, contact.outcome.code, contact.decision_id) == ("sms", "sms_sent", message.decision_id)
    # The gateway's signed receipt: delivered, on the message and the timeline.
    body = json.dumps({"message_id": message.gateway_id, "out_id": f"qs-{message.pk}", "status": "DELIVERED"}).encode()
    r = client.post("/hooks/sms/receipt", body, content_type="application/json",
                    headers={k: v for k, v in signed_headers(SECRET, "qingshou", body).items() if k != "Content-Type"})
    assert r.status_code == 200 and r.json()["code"] == "OK"
    message.refresh_from_db()
    assert message.status == SmsStatus.DELIVERED and message.delivered_at
    statuses = list(CaseEvent.objects.filter(case=world.case, type="sms_status").values_list("data__status", flat=True))
    assert set(statuses) == {"sent", "delivered"}
    assert CaseEvent.objects.filter(case=world.case, type="sms_queued").exists()
    # A forged receipt is refused and audited.
    bad = signed_headers("wrong", "qingshou", body)
    r = client.post("/hooks/sms/receipt", body, content_type="application/json",
                    headers={k: v for k, v in bad.items() if k != "Content-Type"})
    assert r.status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", reason="sms.hook.signature").exists()


@pytest.mark.django_db
def test_retries_on_503_then_success(office_hours, world, gateway, settings, django_capture_on_commit_callbacks):
    settings.TASK_RETRY_BASE_SECONDS = 10
    BACKOFFS.clear()
    gateway.fail_next(2)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world)
    drain(django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 3
    assert [r["status"] for r in gateway.requests] == [503, 503, 200]
    rows = DBTaskResult.objects.filter(task_path__endswith="deliver_sms").order_by("enqueued_at")
    assert [r.status for r in rows] == ["FAILED", "FAILED", "SUCCESSFUL"]
    # Exponential back-off: ~10 s, then ~20 s (plus up to 10 % jitter). Measured as run_after − enqueued_at, which
    # loses the few milliseconds between computing the retry time and enqueueing the row (seen: 9.997 s).
    assert len(BACKOFFS) == 2 and 9.9 <= BACKOFFS[0] <= 11.5 and 19.9 <= BACKOFFS[1] <= 22.5, BACKOFFS


@pytest.mark.django_db
def test_retries_give_up_after_the_last_attempt(office_hours, world, gateway, django_capture_on_commit_callbacks):
    gateway.fail_next(10)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world)
    drain(django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.attempts == 4 and message.error_code == "BUSY"
    assert len(gateway.requests) == 4
    assert ContactAttempt.objects.get(pk=message.contact_id).outcome.code == "sms_failed"


@pytest.mark.django_db
def test_permanent_failure_is_not_retried(office_hours, world, gateway, django_capture_on_commit_callbacks):
    _, phone = debtor(world.case)
    gateway.reject_number(phone.number)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world)
    drain(django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.error_code == "INVALID_NUMBER" and message.attempts == 1
    assert len(gateway.requests) == 1
    assert AuditLog.objects.filter(action="sms.failed", object_id=str(message.pk)).exists()


def test_http_backend_classifies_errors(gateway):
    backend = HttpBackend(url=gateway.url, app_id="qingshou", secret=SECRET, timeout=2)
    sms = OutgoingSms(out_id="qs-1", phone="13800000001", template_id="x.y.v1", content="hi")
    assert backend.send(sms).startswith("gw-")
    assert backend.send(sms) == gateway.received[0]["message_id"]          # idempotent on out_id
    gateway.fail_next(1)
    with pytest.raises(RetryableError):
        backend.send(sms)
    with pytest.raises(PermanentError) as e:
        HttpBackend(url=gateway.url, app_id="qingshou", secret="wrong", timeout=2).send(sms)
    assert e.value.code == "BAD_SIGNATURE"
    with pytest.raises(RetryableError):
        HttpBackend(url="http://127.0.0.1:9", app_id="qingshou", secret=SECRET, timeout=2).send(sms)


@pytest.mark.django_db
def test_unapproved_or_retired_template_cannot_send(office_hours, world, console):
    from qingshou.core.errors import ActionError

    version = make_approved(world)
    actions.do_retire_template(version.template, acting_user=world.supervisor)
    version.refresh_from_db()
    with pytest.raises(ActionError):
        send(world, version=version)
    other = make_approved(world, code="b-remind", creditor=world.creditor_b)
    with pytest.raises(ActionError):
        send(world, version=other)                   # another creditor's template
    # A third party gets only a template marked safe.
    tp = world.case.debtor.parties.exclude(relation="self").first()
    debt = make_approved(world, code="debt2")
    with pytest.raises(ActionError):
        send(world, version=debt, party=tp, phone=tp.phones.first())
    safe = make_approved(world, code="tp", body=SAFE, safe=True)
    sms = send(world, version=safe, party=tp, phone=tp.phones.first())
    assert sms.status == SmsStatus.REFUSED     # CN: third parties only when the debtor is unreachable
    Phone.objects.filter(party__debtor=world.case.debtor, party__relation="self").update(status="invalid")
    sms = send(world, version=safe, party=tp, phone=tp.phones.first())
    assert sms.status == SmsStatus.QUEUED, sms.decision.reasons


@pytest.mark.django_db
def test_engine_sees_the_template(office_hours, world):
    """The compliance engine gets the real template: a pending version is refused by the engine itself."""
    from qingshou.compliance.hook import ContactRequest, check_contact

    v = actions.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="sms",
                                   code="p", name="p", body="{debtor_name}")
    actions.do_submit_version(v, acting_user=world.supervisor)
    party, phone = debtor(world.case)
    req = ContactRequest(case_id=world.case.pk, party_id=party.pk, phone_id=phone.pk, channel="sms",
                         at=timezone.now(), party_is_debtor=True, party_relation="self", template_id=v.pk)
    rules = {r.rule for r in check_contact(req).reasons}
    assert any(r.endswith("template.not_approved") for r in rules), rules
    actions.do_approve_version(v, acting_user=world.creditor_user_a)
    assert not any("template" in r.rule for r in check_contact(req).reasons)


@pytest.mark.django_db
def test_opt_out_reply_makes_the_engine_refuse_the_next_sms(office_hours, world, console, client):
    version = make_approved(world)
    party, phone = debtor(world.case)
    body = json.dumps({"phone": "+86" + phone.number, "text": " td ", "message_id": "in-1"}).encode()
    headers = {k: v for k, v in signed_headers(SECRET, "qingshou", body).items() if k != "Content-Type"}
    from django.test import override_settings

    with override_settings(SMS_APP_SECRET=SECRET):
        r = client.post("/hooks/sms/inbound", body, content_type="application/json", headers=headers)
    assert r.status_code == 200 and r.json()["opt_out"] is True
    dnc = DoNotContact.objects.get(debtor=world.case.debtor, phone=phone)
    assert dnc.channel == "sms"
    assert CaseEvent.objects.filter(case=world.case, type="dnc_added").exists()
    message = send(world, version=version)
    assert message.status == SmsStatus.REFUSED and message.contact_id is None
    assert "do_not_call" in message.error_code
    assert AuditLog.objects.filter(action="sms.refused", object_id=str(message.pk)).exists()
    assert CaseEvent.objects.filter(case=world.case, type="contact_refused").exists()
    # The opt-out is for SMS only: a call to that number is still allowed by the engine.
    from qingshou.compliance.hook import ContactRequest, check_contact

    call = check_contact(ContactRequest(case_id=world.case.pk, party_id=party.pk, phone_id=phone.pk, channel="call",
                                        at=timezone.now(), party_is_debtor=True, party_relation="self"))
    assert not any("do_not_call" in r.rule for r in call.reasons)


@pytest.mark.parametrize("text,expected", [("退订", True), ("TD", True), ("t", True), ("STOP!", True),
                                           ("回复退订", True), ("好的，明天还", False), ("TDX", False)])
def test_opt_out_words(text, expected):
    assert actions.is_opt_out(text) is expected


@pytest.mark.django_db
def test_bulk_send_progress_and_refusals(office_hours, world, console, django_capture_on_commit_callbacks):
    version = make_approved(world)
    cases = [world.case] + [make_case(world.placement_a, collector=world.collector) for _ in range(3)]
    # One recipient opted out, one has no usable number, one case is outside the sender's scope.
    party, phone = debtor(cases[1])
    DoNotContact.objects.create(debtor=cases[1].debtor, phone=phone, channel="sms", reason="退订")
    Phone.objects.filter(party__debtor=cases[2].debtor, party__relation="self").update(status="invalid")
    # A second case of the first debtor: checked in a later chunk, so its check sees the first SMS.
    from qingshou.portfolio.models import Case

    twin = Case.objects.create(placement=world.placement_a, debtor=cases[0].debtor, creditor=world.creditor_a,
                               account_number="TWIN0001", product="信用卡", principal=100, interest=0,
                               total_due=100, assigned_to=world.collector, team=world.team1)
    ids = [c.pk for c in cases] + [twin.pk, world.case_team2.pk]
    with django_capture_on_commit_callbacks(execute=True):
        batch = actions.do_create_sms_batch(ids, version=version, acting_user=world.collector)
    assert batch.total == 5
    assert actions.batch_progress(batch)["processed"] == 0
    drain(django_capture_on_commit_callbacks)
    batch.refresh_from_db()
    progress = actions.batch_progress(batch)
    assert progress["finished"] and progress["processed"] == 5 and progress["percent"] == 100
    assert (progress["sent"], progress["refused"], progress["skipped"]) == (3, 1, 1)
    twin_sms = SmsMessage.objects.get(batch=batch, case=twin)
    first_sms = SmsMessage.objects.get(batch=batch, case=cases[0])
    assert twin_sms.decision_id > first_sms.decision_id
    refused = SmsMessage.objects.get(batch=batch, status="refused")
    assert refused.case_id == cases[1].pk
    lines = console.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and {json.loads(line)["out_id"] for line in lines} == {
        f"qs-{m.pk}" for m in SmsMessage.objects.filter(batch=batch, status="sent")}
    # Running the batch again sends nothing twice.
    actions.run_batch(batch.pk)
    assert SmsMessage.objects.filter(batch=batch).count() == 4
    assert SmsBatch.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_gateway_posts_receipt_and_reply_to_the_live_server(office_hours, live_server, settings, gateway):
    """The fake gateway calls back over real HTTP: a receipt, then an opt-out reply."""
    from tests.factories import World

    world = World()
    message = send(world)        # on_commit runs at once here: the task row is enqueued
    drain()
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT
    status, payload = gateway.send_receipt(live_server.url, message.gateway_id, "DELIVERED")
    assert (status, payload["code"]) == (200, "OK")
    message.refresh_from_db()
    assert message.status == SmsStatus.DELIVERED
    status, _ = gateway.send_receipt(live_server.url, message.gateway_id, "DELIVERED", secret="forged")
    assert status == 403
    _, phone = debtor(world.case)
    status, payload = gateway.send_inbound(live_server.url, phone.number, "退订")
    assert status == 200 and payload["opt_out"] is True
    again = send(world, version=message.template_version)
    assert again.status == SmsStatus.REFUSED


def test_unsigned_callbacks_are_refused_and_audited(db, client):
    from qingshou.core.models import AuditLog

    for url in ("/hooks/sms/receipt", "/hooks/sms/inbound"):
        r = client.post(url, data=b"{}", content_type="application/json")
        assert r.status_code == 403 and r.json() == {"code": "BAD_SIGNATURE"}
    assert AuditLog.objects.filter(action="permission.denied", reason="sms.hook.signature").count() == 2
