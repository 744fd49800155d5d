"""Telephony: click-to-call through the HTTP dialer contract (against a fake dialer over real HTTP),
the signed result callback, recordings (fetch, QA flag, audited playback, retention purge), the console
backend, compliance before originate, the preview-dialling export, result-file import and voice
campaigns counted toward the call caps."""

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from qingshou.compliance import actions as ca
from qingshou.compliance.hook import ContactRequest, check_contact
from qingshou.compliance.policies import ensure_seed_layers, invalidate
from qingshou.contact.actions import do_log_contact
from qingshou.contact.models import Channel, ContactAttempt, ContactStatus, OutcomeCode, QaFlag
from qingshou.core.models import AuditLog
from qingshou.portfolio.models import CaseEvent, Phone
from qingshou.telephony import actions
from qingshou.telephony.gateways import signed_headers, sine_wav
from qingshou.telephony.jobs import purge_recordings
from qingshou.telephony.models import Call, Recording, VoiceCampaign
from tests.factories import World
from tests.peers.fake_dialer import FakeDialer
from tests.test_messaging_sms import BACKOFFS, drain

SECRET = "test-dialer-secret"
HOOK = "/hooks/telephony/result"


def debtor(case):
    party = case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def place(world, case=None, user=None):
    case = case or world.case
    party, phone = debtor(case)
    return actions.do_place_call(case, party=party, phone=phone, acting_user=user or world.collector)


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "recordings": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "rec")}}}
    settings.TELEPHONY_APP_SECRET = SECRET
    settings.TELEPHONY_APP_ID = "qingshou"
    settings.TELEPHONY_CONSOLE_DELAY_SECONDS = 0


# --- over real HTTP: originate -> signed callback -> recording fetched ---------------------------------

@pytest.fixture
def live_world(office_hours, transactional_db, live_server, settings):
    ensure_seed_layers()
    invalidate()
    dialer = FakeDialer(secret=SECRET).start()
    settings.TELEPHONY_BACKEND = "http"
    settings.TELEPHONY_GATEWAY_URL = dialer.url
    settings.TELEPHONY_CALLBACK_BASE_URL = live_server.url
    settings.TASK_MAX_ATTEMPTS = 4
    yield World(), dialer
    dialer.stop()


def test_call_callback_completes_the_contact_with_its_recording(live_world):
    w, dialer = live_world
    result = place(w)
    assert result.placed
    contact = result.call.contact
    assert contact.status == ContactStatus.PENDING and contact.outcome.code == "dialing"
    drain()                                              # originate over HTTP; the dialer calls back
    dialer.wait_for_callbacks(1)
    assert dialer.callbacks == [(200, {"code": "OK"})]
    sent = dialer.originated[0]
    _, phone = debtor(w.case)
    assert sent["number"] == phone.number and sent["mode"] == "agent"
    assert sent["extension"] == str(8000 + w.collector.pk) and sent["callback_url"].endswith(HOOK)
    drain()                                              # the recording is fetched from the dialer
    contact.refresh_from_db()
    call = Call.objects.get(pk=result.call.pk)
    assert call.state == Call.State.COMPLETED and call.gateway_call_id == sent["gateway_call_id"]
    assert contact.status == ContactStatus.COMPLETED and contact.outcome.code == "rpc"
    assert contact.duration_seconds == 42 and contact.qa_flag == ""
    rec = Recording.objects.get(contact=contact)
    assert dialer.recording_gets == 1 and rec.file.read() == dialer.wav and rec.size == len(dialer.wav)
    assert rec.purge_after == timezone.localdate(contact.started_at) + timedelta(days=730)
    assert contact.recording_ref == rec.file.name
    actions_logged = set(AuditLog.objects.values_list("action", flat=True))
    assert {"call.place", "call.complete", "recording.store"} <= actions_logged
    types = set(CaseEvent.objects.filter(case=w.case).values_list("type", flat=True))
    assert {"call_placed", "call_completed", "recording_stored"} <= types
    w.case.refresh_from_db()
    assert w.case.first_contact_at == contact.started_at


def test_call_without_recording_is_flagged_for_qa(live_world, client):
    w, dialer = live_world
    dialer.no_recording = True
    contact = place(w).call.contact
    drain()
    dialer.wait_for_callbacks(1)
    drain()
    contact.refresh_from_db()
    assert contact.status == ContactStatus.COMPLETED and contact.qa_flag == QaFlag.NO_RECORDING
    assert not Recording.objects.filter(contact=contact).exists()
    assert AuditLog.objects.filter(action="call.no_recording", object_id=str(contact.pk)).exists()
    assert CaseEvent.objects.filter(case=w.case, type="recording_missing").exists()
    client.force_login(w.qa)
    page = client.get(reverse("telephony:qa"))
    assert page.status_code == 200 and w.case.account_number in page.content.decode()


def test_originate_retries_with_backoff_on_503(live_world):
    w, dialer = live_world
    dialer.fail_next(2)
    BACKOFFS.clear()
    call = place(w).call
    drain()
    dialer.wait_for_callbacks(1)
    assert [r["status"] for r in dialer.requests] == [503, 503, 200]
    assert len(BACKOFFS) >= 2 and BACKOFFS[1] > BACKOFFS[0] >= 9.9   # run_after − enqueued_at: a few ms short
    call.refresh_from_db()
    assert call.attempts == 3 and len(dialer.originated) == 1


def test_originate_gives_up_after_max_attempts(live_world):
    w, dialer = live_world
    dialer.fail_next(10)
    call = place(w).call
    drain()
    call.refresh_from_db()
    assert call.state == Call.State.FAILED and call.attempts == 4 and call.error == "BUSY"
    assert call.contact.status == ContactStatus.FAILED and dialer.callbacks == []


# --- the callback's signature ------------------------------------------------------------------------

def _post_signed(client, payload, secret=SECRET):
    body = json.dumps(payload).encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed_headers(secret, "qingshou", body).items()
               if k != "Content-Type"}
    return client.post(HOOK, body, content_type="application/json", **headers)


def test_callback_signature_is_checked(office_hours, world, client):
    call = place(world).call
    payload = {"call_id": call.call_id, "duration": 12, "hangup_cause": "NORMAL_CLEARING"}
    bad = _post_signed(client, payload, secret="wrong-secret")
    assert bad.status_code == 403 and bad.json() == {"code": "BAD_SIGNATURE"}
    assert AuditLog.objects.filter(action="permission.denied", reason="telephony.hook.signature").exists()
    call.contact.refresh_from_db()
    assert call.contact.status == ContactStatus.PENDING
    # Tampered body with a signature of another body: refused too.
    body = json.dumps(payload).encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed_headers(SECRET, "qingshou", b"{}").items()
               if k != "Content-Type"}
    assert client.post(HOOK, body, content_type="application/json", **headers).status_code == 403
    ok = _post_signed(client, payload)
    assert ok.status_code == 200
    call.contact.refresh_from_db()
    assert call.contact.status == ContactStatus.COMPLETED and call.contact.qa_flag == QaFlag.NO_RECORDING
    # A repeated result is ignored (idempotent); an unknown call id is 404.
    assert _post_signed(client, {**payload, "duration": 99}).status_code == 200
    call.contact.refresh_from_db()
    assert call.contact.duration_seconds == 12
    assert _post_signed(client, {"call_id": "qs-nope", "duration": 1}).status_code == 404


def test_hangup_causes_map_to_outcomes(office_hours, world, client):
    for cause, duration, code in [("NO_ANSWER", 0, "no_answer"), ("USER_BUSY", 0, "rejected"),
                                  ("UNALLOCATED_NUMBER", 0, "invalid_number")]:
        call = place(world).call
        assert _post_signed(client, {"call_id": call.call_id, "duration": duration, "hangup_cause": cause}
                            ).status_code == 200
        call.contact.refresh_from_db()
        assert call.contact.outcome.code == code
    _, phone = debtor(world.case)
    phone.refresh_from_db()
    assert phone.status == Phone.Status.INVALID          # the outcome's effects apply


# --- compliance before originate -----------------------------------------------------------------------

def test_compliance_refusal_before_originate(office_hours, world, outcomes, client):
    party, phone = debtor(world.case)
    assert do_log_contact(world.case, party=party, phone=phone, outcome=outcomes["stop_today"],
                          acting_user=world.collector, started_at=timezone.now() - timedelta(minutes=5),
                          institution_stated=True).saved
    tasks_before = DBTaskResult.objects.count()
    result = place(world)
    assert not result.placed and "stop_today" in result.decision.reasons[0].rule
    assert not Call.objects.exists() and DBTaskResult.objects.count() == tasks_before
    assert AuditLog.objects.filter(action="call.refused").exists()
    client.force_login(world.collector)
    response = client.post(reverse("telephony:call", kwargs={"pk": world.case.pk}), {"phone": phone.pk},
                           follow=True)
    text = response.content.decode()
    assert "未拨打" in text and "今日已要求停止联系" in text and "下次可联系时间" in text
    assert not Call.objects.exists()


# --- console backend -----------------------------------------------------------------------------------

def test_console_backend_completes_with_a_synthetic_recording(office_hours, world, settings,
                                                             django_capture_on_commit_callbacks):
    settings.TELEPHONY_BACKEND = "console"
    with django_capture_on_commit_callbacks(execute=True):
        call = place(world).call
    drain(django_capture_on_commit_callbacks)
    call.refresh_from_db()
    assert call.state == Call.State.COMPLETED and call.gateway_call_id.startswith("console-")
    rec = Recording.objects.get(contact=call.contact)
    data = rec.file.read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and rec.content_type == "audio/wav"


# --- playback and purge --------------------------------------------------------------------------------

def _recorded(world):
    call = place(world).call
    actions.do_complete_call(call.call_id, duration=20, hangup_cause="NORMAL_CLEARING", recording=sine_wav(0.3))
    return call.contact


def test_recording_playback_is_audited_and_refused_to_others(office_hours, world, client):
    contact = _recorded(world)
    url = reverse("telephony:recording", kwargs={"pk": contact.pk})
    wav = Recording.objects.get(contact=contact).file.read()
    for user in (world.collector, world.leader, world.supervisor, world.qa, world.desk):
        client.force_login(user)
        before = AuditLog.objects.filter(action="recording.play", actor=user).count()
        response = client.get(url)
        assert response.status_code == 200, user.username
        assert b"".join(response.streaming_content) == wav and response["Content-Type"] == "audio/wav"
        assert AuditLog.objects.filter(action="recording.play", actor=user).count() == before + 1
    client.force_login(world.creditor_user_a)                     # sees the case, may not listen
    assert client.get(url).status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", actor=world.creditor_user_a,
                                   reason="recording.play").exists()
    for user in (world.collector_peer, world.creditor_user_b, world.admin, world.lawyer):
        client.force_login(user)
        assert client.get(url).status_code == 404, user.username
    # The case page shows the player to those who may listen.
    client.force_login(world.collector)
    page = client.get(reverse("portfolio:case", kwargs={"pk": world.case.pk})).content.decode()
    assert f'src="{url}"' in page and "<audio" in page


def test_recordings_are_purged_after_retention(office_hours, world, client, settings):
    settings.RECORDING_RETENTION_DAYS = 730
    contact = _recorded(world)
    rec = Recording.objects.get(contact=contact)
    storage, name = rec.file.storage, rec.file.name
    assert storage.exists(name)
    assert purge_recordings(timezone.now() + timedelta(days=729)) == {"purged": 0}
    assert purge_recordings(timezone.now() + timedelta(days=732)) == {"purged": 1}
    rec.refresh_from_db()
    assert rec.purged_at is not None and not rec.file and not storage.exists(name)
    assert AuditLog.objects.filter(action="recording.purge", object_id=str(rec.pk)).exists()
    client.force_login(world.collector)
    assert client.get(reverse("telephony:recording", kwargs={"pk": contact.pk})).status_code == 404
    assert purge_recordings(timezone.now() + timedelta(days=800)) == {"purged": 0}


# --- preview export and result import -------------------------------------------------------------------

def test_preview_list_export_is_audited(office_hours, world, client):
    client.force_login(world.collector)
    response = client.get(reverse("telephony:preview"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    _, phone = debtor(world.case)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["case_id"] for r in rows} == {str(world.case.pk)}          # only my queue
    assert phone.number in {r["phone"] for r in rows}
    row = AuditLog.objects.get(action="dialer.export", actor=world.collector)
    assert world.case.pk in row.data["case_ids"]
    for user in (world.qa, world.creditor_user_a, world.supervisor):
        client.force_login(user)
        assert client.get(reverse("telephony:preview")).status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", reason="dialer.feed").count() == 3


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    buf.seek(0)
    buf.name = "rec.zip"
    return buf


def test_results_file_import(office_hours, world, client):
    pending = place(world).call
    _, phone = debtor(world.case)
    started = (timezone.localtime() - timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M:%S")
    wav = sine_wav(0.2)
    good = ("call_id,case_id,phone,started_at,duration,result,recording\n"
            f"{pending.call_id},,,,35,NORMAL_CLEARING,a.wav\n"
            f",{world.case.pk},{phone.number},{started},0,NO_ANSWER,\n")
    client.force_login(world.collector)
    url = reverse("telephony:import")
    # One bad row (another collector's case): nothing is written, every error has its row number.
    bad = good + f",{world.case_peer.pk},13800000000,{started},0,NO_ANSWER,\n"
    response = client.post(url, {"results": io.BytesIO(bad.encode()), "recordings": _zip({"a.wav": wav})})
    assert response.status_code == 200
    assert "4" in response.content.decode() and ContactAttempt.objects.count() == 1
    pending.refresh_from_db()
    assert pending.state == Call.State.QUEUED
    f = io.BytesIO(good.encode())
    f.name = "results.csv"
    response = client.post(url, {"results": f, "recordings": _zip({"a.wav": wav})})
    assert response.status_code == 302
    pending.refresh_from_db()
    contact = pending.contact
    assert pending.state == Call.State.COMPLETED and contact.outcome.code == "rpc" and contact.duration_seconds == 35
    assert Recording.objects.get(contact=contact).file.read() == wav
    logged = ContactAttempt.objects.exclude(pk=contact.pk).get()
    assert logged.outcome.code == "no_answer" and logged.qa_flag == QaFlag.NO_RECORDING and logged.decision_id
    assert AuditLog.objects.filter(action="calls.import", actor=world.collector).exists()


# --- voice campaigns --------------------------------------------------------------------------------------

def voice_script(world):
    from qingshou.messaging import actions as ma

    v = ma.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="voice", code="robot-m1",
                              name="M1 提醒", body="{debtor_name}您好，这里是{agency}，请尽快致电{hotline}处理。")
    v = ma.do_submit_version(v, acting_user=world.supervisor)
    return ma.do_approve_version(v, acting_user=world.creditor_user_a)


def test_voice_campaign_counts_toward_the_call_caps(office_hours, world, outcomes, client, settings,
                                                   django_capture_on_commit_callbacks):
    settings.TELEPHONY_BACKEND = "console"
    ca.do_publish_policy_layer(kind="creditor", creditor=world.creditor_a, acting_user=world.supervisor,
                               params={"max_calls_per_party_day": 2}, note="每日 2 次")
    world.case.__class__.objects.filter(pk=world.case.pk).update(bucket="M1")
    world.case.__class__.objects.filter(pk=world.case_peer.pk).update(bucket="M3")
    party, phone = debtor(world.case)
    assert do_log_contact(world.case, party=party, phone=phone, outcome=outcomes["no_answer"],
                          acting_user=world.collector, started_at=timezone.now() - timedelta(minutes=30)).saved

    def request():
        return ContactRequest(case_id=world.case.pk, party_id=party.pk, phone_id=phone.pk, channel=Channel.CALL,
                              at=timezone.now(), party_is_debtor=True, party_relation="self",
                              institution_stated=True)

    assert check_contact(request()).allowed                       # 1 call so far, cap 2
    client.force_login(world.leader)
    script = voice_script(world)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("telephony:campaigns"), {"creditor": world.creditor_a.pk,
                                                                "segment": "early_stage", "script": script.pk})
    campaign = VoiceCampaign.objects.get()
    assert response.status_code == 302 and campaign.case_ids == [world.case.pk] and not campaign.calls.exists()
    drain(django_capture_on_commit_callbacks)        # the campaign task places the call; the console completes it
    campaign.refresh_from_db()
    assert campaign.targets == 1 and campaign.refused == 0 and campaign.state == VoiceCampaign.State.DONE
    call = campaign.calls.get()
    assert call.contact.case_id == world.case.pk and call.contact.channel == Channel.ROBOT
    assert "这里是" in call.script and world.case.debtor.name in call.script
    assert call.state == Call.State.COMPLETED
    decision = check_contact(request())
    assert not decision.allowed and [r.rule for r in decision.reasons] == ["creditor.daily_calls"]
    page = client.get(reverse("telephony:campaign", kwargs={"pk": campaign.pk})).content.decode()
    assert "已完成 1 / 1 通" in page and "全部完成" in page
    # A second campaign the same day is refused by the engine for that debtor and says so.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("telephony:campaigns"), {"creditor": world.creditor_a.pk, "segment": "early_stage",
                                                     "script": campaign.script_version.pk})
    drain(django_capture_on_commit_callbacks)
    second = VoiceCampaign.objects.exclude(pk=campaign.pk).get()
    assert second.targets == 0 and second.refused == 1
    assert second.refusals[0]["rules"] == ["creditor.daily_calls"]


def test_campaign_needs_an_approved_voice_script(office_hours, world):
    from qingshou.core.errors import ActionError
    from qingshou.messaging import actions as ma

    draft = ma.do_create_template(acting_user=world.supervisor, creditor=world.creditor_a, kind="voice",
                                  code="draft", name="草稿", body="{debtor_name}您好。")
    with pytest.raises(ActionError):
        actions.do_launch_campaign(acting_user=world.leader, creditor=world.creditor_a, segment="early_stage",
                                   script_version=draft)
    with pytest.raises(ActionError):
        actions.do_launch_campaign(acting_user=world.collector, creditor=world.creditor_a, segment="early_stage",
                                   script_version=voice_script(world))
    assert not VoiceCampaign.objects.exists()


def test_promise_due_tomorrow_segment(office_hours, world):
    from decimal import Decimal

    from qingshou.payments.actions import do_make_promise

    do_make_promise(world.case, amount=Decimal("500.00"), due_date=timezone.localdate() + timedelta(days=1),
                    acting_user=world.collector)
    ids = set(actions.segment_cases(world.supervisor, world.creditor_a, "promise_tomorrow").values_list("pk",
                                                                                                         flat=True))
    assert ids == {world.case.pk}


def test_pending_outcome_is_never_offered(db):
    assert not OutcomeCode.objects.get(code="dialing").is_active


def test_demo_adds_recordings_and_qa_flags(office_hours, world, outcomes):
    from qingshou.telephony.demo import demo_telephony

    party, phone = debtor(world.case)
    for minutes in range(10, 60, 10):                 # 5 calls: the daily cap
        assert do_log_contact(world.case, party=party, phone=phone, outcome=outcomes["no_answer"],
                              acting_user=world.collector, started_at=timezone.now() - timedelta(minutes=minutes)).saved
    assert demo_telephony() == {"recordings": 4, "flagged": 1}
    assert Recording.objects.count() == 4 and ContactAttempt.objects.filter(qa_flag="no_recording").count() == 1
