"""The REST API under /api/v1/: tokens, operations, scoping, compliance refusals, bad input, OpenAPI."""

import json
import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from qingshou.api.api import api, operations
from qingshou.contact.models import ContactAttempt
from qingshou.core.errors import ActionError
from qingshou.core.models import ApiToken, AuditLog
from qingshou.core.tokens import authenticate_token, create_api_token, revoke_api_token, token_digest
from qingshou.payments.actions import do_make_promise
from qingshou.payments.models import Promise
from qingshou.portfolio.models import Phone
from tests.factories import make_case

SH = ZoneInfo("Asia/Shanghai")
TOKEN_RE = re.compile(r"^qs_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$")


class ApiClient:
    """A test client that sends a Bearer token and JSON."""

    def __init__(self, user):
        self.user = user
        _, self.token = create_api_token(user, "tests", acting_user=user)
        self.client = Client()

    def _h(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, **self._h())

    def post(self, path, body=None, *, raw=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(f"/api/v1{path}", data, content_type="application/json", **self._h())


@pytest.fixture
def api_for(world):
    return ApiClient


def debtor_party(case):
    return case.debtor.parties.get(relation="self")


def contact_body(case, outcome="no_answer", **extra):
    party = debtor_party(case)
    body = {
        "party_id": party.pk,
        "phone_id": party.phones.first().pk,
        "channel": "call",
        "outcome": outcome,
        "duration_seconds": 30,
        "notes": "测试备注",
        "institution_stated": True,  # CN preset: the opening of a first conversation states the institution
    }
    body.update(extra)
    return body


def audited(action, **filters):
    return AuditLog.objects.filter(action=action, **filters).exists()


# --- tokens ---------------------------------------------------------------------------------


def test_token_lifecycle(world):
    token, raw = create_api_token(world.collector, "dialer", acting_user=world.collector)
    assert TOKEN_RE.match(raw)
    assert raw.split("_")[1] == token.prefix
    assert token.digest == token_digest(raw) and raw not in token.digest
    assert audited("token.create", actor=world.collector, object_id=str(token.pk))
    assert not AuditLog.objects.filter(data__icontains=raw.split("_", 2)[2]).exists()

    c = Client()
    r = c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200 and r.json()["username"] == "c1"
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    # At most one write a minute.
    assert authenticate_token(raw) == world.collector
    token.refresh_from_db()
    assert token.last_used_at == first_use

    revoke_api_token(token, acting_user=world.collector)
    assert audited("token.revoke", actor=world.collector, object_id=str(token.pk))
    r = c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 401
    assert "Bearer" in r["WWW-Authenticate"]
    # Revoking again is harmless and not audited twice.
    revoke_api_token(token, acting_user=world.collector)
    assert AuditLog.objects.filter(action="token.revoke", object_id=str(token.pk)).count() == 1


def test_token_of_inactive_user_and_bad_tokens_are_refused(world):
    _, raw = create_api_token(world.collector, "x", acting_user=world.collector)
    c = Client()
    world.collector.is_active = False
    world.collector.save()
    assert c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert authenticate_token(raw) is None
    prefix = raw.split("_")[1]
    for header in [
        "",
        "Bearer",
        "Bearer nonsense",
        f"Bearer qs_{prefix}_{'A' * 43}",
        f"Basic {raw}",
        "Bearer qs_" + "\x00" * 60,
        f"Bearer {raw}x",
    ]:
        r = c.get("/api/v1/me", HTTP_AUTHORIZATION=header)
        assert r.status_code == 401, header
    assert c.get("/api/v1/me").status_code == 401
    assert c.get("/api/v1/cases").status_code == 401


def test_tokens_only_for_oneself_unless_admin(world):
    with pytest.raises(ActionError) as exc:
        create_api_token(world.collector, "x", acting_user=world.collector_peer)
    assert "user" in exc.value.message_dict
    with pytest.raises(ActionError) as exc:
        create_api_token(world.collector, "  ", acting_user=world.collector)
    assert "name" in exc.value.message_dict
    token, _ = create_api_token(world.collector, "by admin", acting_user=world.admin)
    with pytest.raises(ActionError):
        revoke_api_token(token, acting_user=world.collector_peer)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_create_api_token_command_prints_the_token_once(world):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "c1", "--name", "dialer", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert TOKEN_RE.match(raw)
    assert authenticate_token(raw) == world.collector
    assert ApiToken.objects.get(user=world.collector, name="dialer").digest == token_digest(raw)
    assert audited("token.create", actor=None)
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", "--name", "x", stdout=StringIO(), stderr=StringIO())


# --- reading ----------------------------------------------------------------------------------


def test_me_and_outcomes(world, outcomes, api_for):
    c = api_for(world.leader)
    me = c.get("/me").json()
    assert me["username"] == "lead1" and me["role"] == "team_leader"
    assert me["team"]["code"] == "t1" and "case.reassign" in me["capabilities"]
    r = c.get("/outcomes")
    assert r.status_code == 200
    codes = [o["code"] for o in r.json()]
    assert "ptp" in codes and "no_answer" in codes
    ptp = next(o for o in r.json() if o["code"] == "ptp")
    assert ptp["opens_promise"] is True and ptp["label_zh"] == "承诺还款"


def test_my_queue_with_priority_flags(office_hours, world, outcomes, api_for):
    overdue = make_case(
        world.placement_a, collector=world.collector, assigned_days_ago=5, total=Decimal("100.00")
    )
    do_make_promise(
        world.case, amount=Decimal("500.00"), due_date=timezone.localdate(), acting_user=world.collector
    )
    c = api_for(world.collector)
    r = c.get("/cases/mine")
    assert r.status_code == 200
    data = r.json()
    assert data["count"] == 2
    first, second = data["items"]
    assert first["id"] == world.case.pk and first["promise_due"] is True and first["priority"] == 0
    assert second["id"] == overdue.pk and second["first_call_overdue"] is True and second["priority"] == 1
    assert first["total_due"] == "12000.00"
    page = c.get("/cases/mine", limit=1, offset=1).json()
    assert page["count"] == 2 and [i["id"] for i in page["items"]] == [overdue.pk]
    # Nobody else's case in my queue.
    assert world.case_peer.pk not in {i["id"] for i in data["items"]}


def test_case_list_is_scoped_and_filtered(world, api_for):
    lead = api_for(world.leader)
    ids = {i["id"] for i in lead.get("/cases").json()["items"]}
    assert ids == {world.case.pk, world.case_peer.pk}

    sup = api_for(world.supervisor)
    assert sup.get("/cases").json()["count"] == 3
    assert {i["id"] for i in sup.get("/cases", creditor="cf-b").json()["items"]} == {world.case_team2.pk}
    assert sup.get("/cases", status="settled").json()["count"] == 0
    assert sup.get("/cases", bucket="M2").json()["count"] == 3
    assert sup.get("/cases", dpd_min=46).json()["count"] == 0
    assert sup.get("/cases", dpd_min=45, dpd_max=45).json()["count"] == 3
    assert {i["id"] for i in sup.get("/cases", q=world.case.account_number[-4:]).json()["items"]} == {
        world.case.pk
    }
    page = sup.get("/cases", limit=2, offset=2).json()
    assert page["count"] == 3 and len(page["items"]) == 1

    cred_a = api_for(world.creditor_user_a)
    ids = {i["id"] for i in cred_a.get("/cases").json()["items"]}
    assert ids == {world.case.pk, world.case_peer.pk}
    assert cred_a.get("/cases", creditor="cf-b").json()["count"] == 0

    assert api_for(world.admin).get("/cases").status_code == 403  # admins do no case work


def test_case_detail_masks_numbers(office_hours, world, outcomes, api_for):
    do_make_promise(
        world.case,
        amount=Decimal("300.00"),
        due_date=timezone.localdate() + timedelta(days=3),
        acting_user=world.collector,
    )
    c = api_for(world.collector)
    r = c.get(f"/cases/{world.case.pk}")
    assert r.status_code == 200
    d = r.json()
    assert d["balances"] == {
        "principal": "9600.00",
        "interest": "2400.00",
        "late_fees": "0.00",
        "other_fees": "0.00",
        "total_due": "12000.00",
    }
    assert d["debtor"]["id_number_masked"].startswith("110101") and "*" in d["debtor"]["id_number_masked"]
    body = r.content.decode()
    assert world.case.debtor.id_number not in body
    numbers = Phone.objects.filter(party__debtor=world.case.debtor).values_list("number", flat=True)
    assert numbers
    for number in numbers:
        assert number not in body
    phones = [p for party in d["parties"] for p in party["phones"]]
    assert all("****" in p["number_masked"] for p in phones)
    assert {p["status"] for p in phones} <= {"valid", "invalid", "unknown"}
    third = next(p for p in d["parties"] if not p["is_debtor"])
    assert "*" in third["name"]
    assert len(d["pending_promises"]) == 1 and d["pending_promises"][0]["amount"] == "300.00"
    assert any(e["type"] == "promise_made" for e in d["events"])
    assert d["holds"] == []


def test_case_detail_lists_active_holds(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    r = c.post(f"/cases/{world.case.pk}/contacts", contact_body(world.case, "deceased"))
    assert r.status_code == 201, r.content
    d = c.get(f"/cases/{world.case.pk}").json()
    assert [h["reason"] for h in d["holds"]] == ["deceased"]
    assert d["on_hold"] is True


# --- scoping ----------------------------------------------------------------------------------


def test_collector_cannot_see_or_touch_another_collectors_case(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    other = world.case_peer
    assert c.get(f"/cases/{other.pk}").status_code == 404
    assert c.get(f"/cases/{other.pk}/contacts").status_code == 404
    assert c.post(f"/cases/{other.pk}/contacts", contact_body(other)).status_code == 404
    assert (
        c.post(f"/cases/{other.pk}/promises", {"amount": "10.00", "due_date": "2026-11-20"}).status_code
        == 404
    )
    assert c.get("/cases/999999").status_code == 404
    assert not ContactAttempt.objects.filter(case=other).exists()
    # Another collector's promises are not listed either.
    do_make_promise(
        other, amount=Decimal("10.00"), due_date=timezone.localdate(), acting_user=world.collector_peer
    )
    assert c.get("/promises").json()["count"] == 0
    p = Promise.objects.get(case=other)
    assert c.post(f"/cases/{other.pk}/promises/{p.pk}/cancel", {"reason": "x"}).status_code == 404


def test_creditor_user_reads_own_creditor_only_and_cannot_write(office_hours, world, outcomes, api_for):
    c = api_for(world.creditor_user_a)
    assert c.get(f"/cases/{world.case.pk}").status_code == 200
    assert c.get(f"/cases/{world.case_team2.pk}").status_code == 404
    r = c.post(f"/cases/{world.case.pk}/contacts", contact_body(world.case))
    assert r.status_code == 403
    assert audited("permission.denied", actor=world.creditor_user_a, case_id=world.case.pk)
    r = c.post(f"/cases/{world.case.pk}/promises", {"amount": "10.00", "due_date": "2026-11-20"})
    assert r.status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", actor=world.creditor_user_a).count() == 2
    assert not ContactAttempt.objects.exists() and not Promise.objects.exists()
    qa = api_for(world.qa)
    assert qa.get(f"/cases/{world.case.pk}").status_code == 200
    assert qa.post(f"/cases/{world.case.pk}/contacts", contact_body(world.case)).status_code == 403
    assert audited("permission.denied", actor=world.qa)


# --- writing ----------------------------------------------------------------------------------


def test_post_contact_with_promise(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    body = contact_body(
        world.case,
        "ptp",
        promise_amount="1500.50",
        promise_due_date=due,
        checklist={"work_income": True, "family_knows": False},
        recording_ref="rec-001",
    )
    r = c.post(f"/cases/{world.case.pk}/contacts", body)
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["decision"]["allowed"] is True
    assert d["contact"]["outcome"]["code"] == "ptp" and d["contact"]["checklist"]["work_income"] is True
    assert "****" in d["contact"]["phone_masked"]
    assert d["promise"]["amount"] == "1500.50" and d["promise"]["due_date"] == due
    contact = ContactAttempt.objects.get(pk=d["contact"]["id"])
    assert contact.collector == world.collector and contact.recording_ref == "rec-001"
    assert audited("contact.log", actor=world.collector, object_id=str(contact.pk))
    assert audited("promise.create", actor=world.collector, case_id=world.case.pk)

    listed = c.get(f"/cases/{world.case.pk}/contacts").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == contact.pk
    promises = c.get("/promises", status="pending").json()
    assert [p["id"] for p in promises["items"]] == [d["promise"]["id"]]
    assert c.get("/promises", due_before=timezone.localdate().isoformat()).json()["count"] == 0
    assert c.get("/promises", due_after=due).json()["count"] == 1


def test_naive_start_time_is_shanghai_time(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    today = timezone.localdate()
    r = c.post(f"/cases/{world.case.pk}/contacts", contact_body(world.case, started_at=f"{today}T09:15:00"))
    assert r.status_code == 201, r.content
    started = ContactAttempt.objects.get().started_at
    assert started == datetime.combine(today, time(9, 15), tzinfo=SH)


def test_compliance_refusal_outside_hours_is_409(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    yesterday_late = datetime.combine(timezone.localdate() - timedelta(days=1), time(23, 30), tzinfo=SH)
    r = c.post(
        f"/cases/{world.case.pk}/contacts", contact_body(world.case, started_at=yesterday_late.isoformat())
    )
    assert r.status_code == 409, r.content
    d = r.json()
    assert d["allowed"] is False
    assert d["reasons"][0]["rule"] == "cn.hours"
    assert set(d["reasons"][0]) == {"rule", "layer", "message_zh", "message_en"}
    assert datetime.fromisoformat(d["next_allowed_at"]) == datetime.combine(
        timezone.localdate(), time(8, 0), tzinfo=SH
    )
    assert not ContactAttempt.objects.exists()
    assert audited("contact.refused", actor=world.collector, case_id=world.case.pk)


def test_sixth_call_to_a_party_is_409(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    for i in range(5):
        at = (timezone.now() - timedelta(minutes=60 - i)).isoformat()
        r = c.post(f"/cases/{world.case.pk}/contacts", contact_body(world.case, started_at=at))
        assert r.status_code == 201, r.content
    r = c.post(f"/cases/{world.case.pk}/contacts", contact_body(world.case))
    assert r.status_code == 409
    d = r.json()
    assert [x["rule"] for x in d["reasons"]] == ["house.daily_calls"]
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert datetime.fromisoformat(d["next_allowed_at"]) == datetime.combine(tomorrow, time(8, 0), tzinfo=SH)
    assert ContactAttempt.objects.count() == 5


def test_contact_field_errors_are_422(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    url = f"/cases/{world.case.pk}/contacts"
    other_party = debtor_party(world.case_peer)
    third = world.case.debtor.parties.exclude(relation="self").first()

    def errors(body=None, raw=None, status=422):
        r = c.post(url, body, raw=raw)
        assert r.status_code == status, (body, raw, r.content)
        return r.json()["errors"]

    assert errors(contact_body(world.case, party_id=other_party.pk)).keys() >= {"party_id"}
    assert "phone_id" in errors(contact_body(world.case, phone_id=third.phones.first().pk))
    assert "phone_id" in errors(contact_body(world.case, phone_id=other_party.phones.first().pk))
    assert "outcome" in errors(contact_body(world.case, outcome="nope"))
    e = errors(contact_body(world.case, "ptp"))
    assert "promise_amount" in e and "promise_due_date" in e
    assert "promise_amount" in errors(
        contact_body(world.case, "ptp", promise_amount="99999", promise_due_date=str(timezone.localdate()))
    )
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    assert "started_at" in errors(contact_body(world.case, started_at=future))
    assert "duration_seconds" in errors(contact_body(world.case, duration_seconds=7 * 3600))
    e = errors({})
    assert "party_id" in e and "outcome" in e
    assert "channel" in errors(contact_body(world.case, channel="pigeon"))
    assert "phone_id" in errors(contact_body(world.case, phone_id=None))  # a call needs a number
    # Wrong types, huge numbers, invalid dates, unknown checklist items, NUL characters.
    e = errors(
        contact_body(
            world.case,
            "ptp",
            party_id="abc",
            duration_seconds=10**40,
            promise_amount="1e400",
            promise_due_date="2026-02-30",
        )
    )
    assert e.keys() >= {"party_id", "duration_seconds", "promise_amount", "promise_due_date"}
    assert "party_id" in errors(contact_body(world.case, party_id=2**64))
    assert "started_at" in errors(contact_body(world.case, started_at="yesterday"))
    assert "started_at" in errors(contact_body(world.case, started_at="0001-01-01T00:00:00+14:00"))
    assert "checklist.bogus" in errors(contact_body(world.case, checklist={"bogus": True}))
    assert "notes" in errors(contact_body(world.case, notes="a\x00b"))
    assert "notes" in errors(contact_body(world.case, notes="x" * 5000))
    assert "promise_amount" in errors(
        contact_body(world.case, "ptp", promise_amount="1.001", promise_due_date=str(timezone.localdate()))
    )
    assert "promise_amount" in errors(
        contact_body(world.case, "ptp", promise_amount="NaN", promise_due_date=str(timezone.localdate()))
    )
    assert errors(raw="[1, 2]")
    assert errors(raw="null") is not None
    assert "body" in errors(raw="{not json", status=400)
    assert "body" in errors(raw="[" * 100000, status=400)
    assert not ContactAttempt.objects.exists()


def test_promise_create_and_cancel(office_hours, world, outcomes, api_for):
    c = api_for(world.collector)
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    r = c.post(f"/cases/{world.case.pk}/promises", {"amount": "800", "due_date": due})
    assert r.status_code == 201, r.content
    p = r.json()
    assert p["amount"] == "800.00" and p["status"] == "pending"
    assert audited("promise.create", actor=world.collector, object_id=str(p["id"]))

    e = c.post(f"/cases/{world.case.pk}/promises", {"amount": "800000", "due_date": due}).json()["errors"]
    assert "amount" in e
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert (
        "due_date"
        in c.post(f"/cases/{world.case.pk}/promises", {"amount": "1", "due_date": past}).json()["errors"]
    )
    r = c.post(f"/cases/{world.case.pk}/promises", {"amount": "abc", "due_date": "tomorrow"})
    assert r.status_code == 422 and r.json()["errors"].keys() >= {"amount", "due_date"}
    r = c.post(
        f"/cases/{world.case.pk}/promises",
        {"amount": "1", "due_date": due, "party_id": debtor_party(world.case_peer).pk},
    )
    assert r.status_code == 422 and "party_id" in r.json()["errors"]

    url = f"/cases/{world.case.pk}/promises/{p['id']}/cancel"
    assert c.post(url, {"reason": ""}).status_code == 422
    r = c.post(url, {"reason": "债务人改口"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert audited("promise.cancel", actor=world.collector, object_id=str(p["id"]))
    r = c.post(url, {"reason": "again"})
    assert r.status_code == 422 and "promise_id" in r.json()["errors"]
    assert c.post(f"/cases/{world.case.pk}/promises/999999/cancel", {"reason": "x"}).status_code == 404


def test_leader_may_work_team_cases(office_hours, world, outcomes, api_for):
    c = api_for(world.leader)
    r = c.post(f"/cases/{world.case_peer.pk}/contacts", contact_body(world.case_peer))
    assert r.status_code == 201
    assert c.post(f"/cases/{world.case_team2.pk}/contacts", contact_body(world.case_team2)).status_code == 404


def test_query_parameter_errors_are_422(world, api_for):
    c = api_for(world.supervisor)
    for params in [
        {"limit": 0},
        {"limit": 10**6},
        {"offset": -1},
        {"offset": 10**30},
        {"dpd_min": "x"},
        {"status": "gone"},
        {"bucket": "M99"},
        {"q": "a" * 100},
        {"q": "a\x00"},
    ]:
        r = c.get("/cases", **params)
        assert r.status_code == 422, params
        assert r.json()["errors"], params
    for params in [{"due_before": "2026-13-01"}, {"due_after": "0001-01-01"}, {"status": "x"}]:
        assert c.get("/promises", **params).status_code == 422, params
    assert c.get("/cases/abc").status_code in (404, 422)
    assert c.get(f"/cases/{2**70}").status_code == 422
    assert c.get("/cases", offset=500).json()["items"] == []


# --- session auth ---------------------------------------------------------------------------


def test_session_auth_with_csrf(office_hours, world, outcomes):
    c = Client(enforce_csrf_checks=True)
    assert (
        c.post(f"/api/v1/cases/{world.case.pk}/contacts", {}, content_type="application/json").status_code
        == 401
    )
    c.force_login(world.collector)
    assert c.get("/api/v1/me").json()["username"] == "c1"
    url = f"/api/v1/cases/{world.case.pk}/contacts"
    body = json.dumps(contact_body(world.case))
    r = c.post(url, body, content_type="application/json")
    assert r.status_code == 403
    assert audited("permission.denied", actor=world.collector)
    c.get("/api/v1/docs")  # sets the CSRF cookie
    token = c.cookies["csrftoken"].value
    r = c.post(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 201, r.content


# --- the document -----------------------------------------------------------------------------

EXPECTED_OPERATIONS = {
    ("GET", "/api/v1/cases/mine"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases/{case_id}"),
    ("GET", "/api/v1/cases/{case_id}/contacts"),
    ("POST", "/api/v1/cases/{case_id}/contacts"),
    ("GET", "/api/v1/promises"),
    ("POST", "/api/v1/cases/{case_id}/promises"),
    ("POST", "/api/v1/cases/{case_id}/promises/{promise_id}/cancel"),
    ("POST", "/api/v1/cases/{case_id}/leads"),
    ("GET", "/api/v1/outcomes"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/dialer/next"),
    ("POST", "/api/v1/dialer/check"),
}


def test_openapi_document_lists_every_operation(db):
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    listed = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert listed == EXPECTED_OPERATIONS
    assert {(m, p) for m, p, _ in operations()} == EXPECTED_OPERATIONS
    assert all(op_id for _, _, op_id in operations())
    assert api.get_openapi_schema()["paths"].keys() == doc["paths"].keys()
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    post = doc["paths"]["/api/v1/cases/{case_id}/contacts"]["post"]
    assert {"201", "409", "422", "403", "404"} <= set(post["responses"])


def test_docs_page_uses_no_cdn(db):
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)


WEIRD_VALUES = [
    None,
    "",
    "x",
    -1,
    0,
    2**63,
    2**64,
    1.5,
    1e308,
    True,
    [],
    {},
    "\x00",
    "\ud800",
    "9999-12-31",
    "0000-00-00",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00-12:00",
    "2026-11-18T10:00:00+99:00",
    "NaN",
    "-Infinity",
    "1e-400",
    "-0.00",
    "0.001",
    "１２３",
    {"a": 1},
]


def test_no_input_makes_a_500(office_hours, world, outcomes, api_for):
    """Every field of every write and every query parameter with hostile values: a 4xx or success."""
    c = api_for(world.collector)
    due = str(timezone.localdate() + timedelta(days=2))
    base = contact_body(
        world.case,
        "ptp",
        promise_amount="10.00",
        promise_due_date=due,
        checklist={},
        recording_ref="",
        direction="out",
        started_at=None,
    )
    seen = set()
    for key in base:
        for value in WEIRD_VALUES:
            r = c.post(f"/cases/{world.case.pk}/contacts", {**base, key: value})
            assert r.status_code < 500, (key, value)
            seen.add(r.status_code)
    for value in WEIRD_VALUES:
        body = {"amount": value, "due_date": value, "party_id": value}
        assert c.post(f"/cases/{world.case.pk}/promises", body).status_code == 422, value
        assert c.post(f"/cases/{world.case.pk}/promises/1/cancel", {"reason": value}).status_code < 500
    assert seen <= {201, 409, 422}
    for key in [
        "limit",
        "offset",
        "status",
        "bucket",
        "creditor",
        "dpd_min",
        "dpd_max",
        "q",
        "due_before",
        "due_after",
    ]:
        for value in ["", "x", "-1", "99999999999999999999999", "\x00", "1.5", "9999-12-31", "%"]:
            for path in ["/cases", "/promises", "/cases/mine", f"/cases/{world.case.pk}/contacts"]:
                assert c.get(path, **{key: value}).status_code < 500, (path, key, value)
    for path in ["/cases/0", "/cases/-1", "/cases/1.5", "/cases/%00", "/cases/１", "/cases/0/contacts"]:
        assert 400 <= c.get(path).status_code < 500, path


def test_messages_follow_the_language(world, api_for):
    c = api_for(world.supervisor)
    zh = c.client.get("/api/v1/cases", {"limit": 0}, HTTP_AUTHORIZATION=f"Bearer {c.token}")
    assert zh.json()["errors"]["limit"] == ["不能小于 1。"]
    en = c.client.get(
        "/api/v1/cases", {"limit": 0}, HTTP_AUTHORIZATION=f"Bearer {c.token}", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert en.json()["errors"]["limit"] == ["Must be at least 1."]
    assert "需要认证" in Client().get("/api/v1/me").json()["detail"]
