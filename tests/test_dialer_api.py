"""The dialer API: the feed returns only numbers callable now; the batch check decides and stores each item."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qingshou.compliance.actions import do_add_do_not_contact
from qingshou.compliance.models import ComplianceDecision
from qingshou.contact.actions import do_log_contact
from qingshou.core.models import AuditLog
from qingshou.core.tokens import create_api_token
from qingshou.portfolio.actions import do_place_hold
from tests.factories import make_case


@pytest.fixture
def api_for(client):
    def _for(user):
        _, secret = create_api_token(user, "dialer", acting_user=user)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

        class C:
            def get(self, path, **params):
                return client.get("/api/v1" + path, params, **headers)

            def post(self, path, body):
                return client.post("/api/v1" + path, body, content_type="application/json", **headers)

        return C()

    return _for


def debtor(case):
    party = case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def item(case, party=None, phone=None, channel="call"):
    p, ph = debtor(case)
    party = party or p
    phone = phone or party.phones.first()
    return {"case_id": case.pk, "party_id": party.pk, "phone_id": phone.pk, "channel": channel}


@pytest.fixture
def queue(world, outcomes):
    """c1's queue: world.case (callable), a case whose debtor said stop today, one on hold, one with DNC."""
    stopped = make_case(world.placement_a, collector=world.collector, total=world.case.total_due * 3)
    p, ph = debtor(stopped)
    assert do_log_contact(stopped, party=p, phone=ph, outcome=outcomes["stop_today"], acting_user=world.collector,
                          started_at=timezone.now() - timedelta(minutes=30)).saved
    held = make_case(world.placement_a, collector=world.collector, total=world.case.total_due * 2)
    do_place_hold(held, "complaint", acting_user=world.leader, note="投诉处理中")
    dnc = make_case(world.placement_a, collector=world.collector)
    do_add_do_not_contact(case=dnc, phone=debtor(dnc)[1], reason="本人要求", acting_user=world.collector)
    return {"stopped": stopped, "held": held, "dnc": dnc}


def test_feed_returns_only_numbers_callable_now(office_hours, world, queue, api_for):
    before = ComplianceDecision.objects.count()
    # without the dialer's word that its opening states the institution, a first call is not lawful (CN)
    r = api_for(world.collector).get("/dialer/next", limit=10)
    assert r.status_code == 200 and r.json()["items"] == []
    assert not ComplianceDecision.objects.filter(pk__gt=0).count() - before
    r = api_for(world.collector).get("/dialer/next", limit=10, institution_stated="true")
    assert r.status_code == 200, r.content
    d = r.json()
    _, phone = debtor(world.case)
    # stopped (stop today), held (not in the queue), dnc (debtor's number barred; third party not yet allowed)
    assert [(i["case_id"], i["phone_id"]) for i in d["items"]] == [(world.case.pk, phone.pk)]
    got = d["items"][0]
    assert got["number"] == phone.number and got["is_debtor"] and got["number_masked"] != phone.number
    assert got["policy_version"] == "cn@1+house@1"
    assert d["checked"] >= 6                                    # every candidate number was put to the engine
    stored = ComplianceDecision.objects.filter(pk__gt=0).count() - before
    assert stored == 1 and ComplianceDecision.objects.order_by("-pk").first().allowed
    a = AuditLog.objects.filter(action="dialer.feed").order_by("-pk").first()
    assert a.actor == world.collector and a.data["phone_ids"] == [phone.pk] and a.data["count"] == 1
    assert phone.number not in str(a.data)


def test_feed_gives_one_number_per_case_and_respects_the_limit(office_hours, world, api_for):
    for _ in range(3):
        make_case(world.placement_a, collector=world.collector)
    r = api_for(world.collector).get("/dialer/next", limit=2, institution_stated="true")
    items = r.json()["items"]
    assert len(items) == 2 and len({i["case_id"] for i in items}) == 2
    assert api_for(world.collector).get("/dialer/next", limit=101).status_code == 422


def test_feed_needs_the_dialer_capability(office_hours, world, api_for):
    for user in (world.supervisor, world.qa, world.creditor_user_a, world.admin):
        r = api_for(user).get("/dialer/next")
        assert r.status_code == 403, user
    assert AuditLog.objects.filter(action="permission.denied", data__capability="dialer.feed").count() == 4


def test_batch_check_decides_and_stores_every_item(office_hours, world, queue, api_for):
    t_party = world.case.debtor.parties.exclude(relation="self").first()
    body = {"items": [
        item(world.case),                                       # allowed
        item(queue["stopped"]),                                 # stop today
        item(queue["held"]),                                    # hold
        item(world.case, party=t_party),                        # third party, debtor reachable (CN)
        item(world.case_team2),                                 # not c1's case
        {**item(world.case), "phone_id": debtor(world.case_peer)[1].pk},  # phone of another file
    ], "institution_stated": True}
    r = api_for(world.collector).post("/dialer/check", body)
    assert r.status_code == 200, r.content
    d = r.json()
    out = d["items"]
    assert d["count"] == 6 and d["allowed"] == 1 and d["policy_versions"] == ["cn@1+house@1"]
    assert out[0]["allowed"] and out[0]["reasons"] == [] and out[0]["decision_id"]
    assert [x["rule"] for x in out[1]["reasons"]] == ["house.stop_today"] and out[1]["next_allowed_at"]
    assert [x["rule"] for x in out[2]["reasons"]] == ["hold.complaint"] and out[2]["next_allowed_at"] is None
    assert [x["rule"] for x in out[3]["reasons"]] == ["cn.third_party.unreachable"]
    assert out[4]["error"] == out[5]["error"] == "not_found" and out[4]["decision_id"] is None
    stored = ComplianceDecision.objects.filter(pk__in=[o["decision_id"] for o in out[:4]]).order_by("pk")
    assert [s.allowed for s in stored] == [True, False, False, False]
    assert all(s.requested_by == world.collector and s.policy_version == "cn@1+house@1" for s in stored)
    assert stored[1].reasons[0]["rule"] == "house.stop_today"
    assert AuditLog.objects.filter(action="dialer.check", actor=world.collector).exists()


def test_batch_check_at_a_given_time(office_hours, world, api_for):
    late = (timezone.localtime().replace(hour=23, minute=0)).isoformat()
    c = api_for(world.collector)
    d = c.post("/dialer/check", {"items": [item(world.case)], "at": late}).json()
    assert [x["rule"] for x in d["items"][0]["reasons"]] == ["cn.institution", "cn.hours"]
    assert d["items"][0]["next_allowed_at"] is None                # no waiting fixes a missing opening
    d = c.post("/dialer/check", {"items": [item(world.case)], "at": late, "institution_stated": True}).json()
    assert [x["rule"] for x in d["items"][0]["reasons"]] == ["cn.hours"]
    assert d["items"][0]["next_allowed_at"].startswith((timezone.localdate() + timedelta(days=1)).isoformat())


def test_batch_check_limit_is_1000(office_hours, world, api_for):
    c = api_for(world.collector)
    one = item(world.case)
    r = c.post("/dialer/check", {"items": [one] * 1000})
    assert r.status_code == 200 and r.json()["count"] == 1000
    assert ComplianceDecision.objects.count() == 1000
    r = c.post("/dialer/check", {"items": [one] * 1001})
    assert r.status_code == 422 and "items" in r.json()["errors"]
    assert c.post("/dialer/check", {"items": []}).status_code == 422
    assert c.post("/dialer/check", {"items": [{**one, "channel": "letter"}]}).status_code == 422


def test_batch_check_needs_case_work(office_hours, world, api_for):
    r = api_for(world.creditor_user_a).post("/dialer/check", {"items": [item(world.case)]})
    assert r.status_code == 403
    assert not ComplianceDecision.objects.exists()
