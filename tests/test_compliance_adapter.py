"""The compliance adapter: contexts from the database, do-not-contact, preferences, calendar, layered policies."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qingshou.compliance import actions as ca
from qingshou.compliance import policies
from qingshou.compliance.adapter import ContextLoader, build_context
from qingshou.compliance.calendar import build_calendar, package_year, unknown_years
from qingshou.compliance.engine import decide
from qingshou.compliance.hook import check_contact
from qingshou.compliance.models import ComplianceDecision, PolicyLayerVersion
from qingshou.compliance.types import ContactRequest
from qingshou.contact.actions import do_log_contact
from qingshou.contact.models import ContactAttempt
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.portfolio.actions import do_place_hold
from qingshou.portfolio.models import Case, CaseEvent, Phone
from tests.factories import make_case

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _fresh_policy_cache():
    policies.invalidate()
    yield
    policies.invalidate()


def debtor(case):
    party = case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def third(case):
    party = case.debtor.parties.exclude(relation="self").first()
    return party, party.phones.first()


def req(case, when=None, *, party=None, phone=None, channel="call", **kw):
    p, ph = debtor(case)
    party = party or p
    phone = phone if phone is not None else ph
    return ContactRequest(case_id=case.pk, party_id=party.pk, phone_id=phone.pk if phone else None, channel=channel,
                          at=when or timezone.now(), party_is_debtor=party.is_debtor, party_relation=party.relation,
                          institution_stated=True, **kw)


def log(world, outcome, case=None, **kw):
    case = case or world.case
    p, ph = debtor(case)
    kw.setdefault("party", p)
    kw.setdefault("phone", ph)
    return do_log_contact(case, outcome=outcome, acting_user=world.collector, **kw)


def rules(decision):
    return [r.rule for r in decision.reasons]


# --- context building -------------------------------------------------------------------------

def test_context_from_the_database(office_hours, world, outcomes):
    ctx = build_context(req(world.case))
    assert [layer.name for layer in ctx.policy.layers] == ["cn", "house"]
    assert ctx.policy.version == "cn@1+house@1"                    # the seeded version 1 rows
    p, ph = debtor(world.case)
    assert ctx.facts.timezones == ("Asia/Shanghai",)
    assert ctx.facts.debtor_phone_ids == (ph.pk,)
    assert ctx.history == () and ctx.template is None
    assert 2026 in ctx.calendar.known_years


def test_history_spans_the_debtors_cases_of_the_same_creditor_only(office_hours, world, outcomes):
    case = world.case
    sibling = Case.objects.create(placement=world.placement_a, debtor=case.debtor, creditor=world.creditor_a,
                                  account_number="SIB-1", product="信用卡", assigned_to=world.collector,
                                  team=world.team1, assigned_at=timezone.now())
    other_creditor = Case.objects.create(placement=world.placement_b, debtor=case.debtor, creditor=world.creditor_b,
                                         account_number="OTH-1", product="贷款", assigned_to=world.collector,
                                         team=world.team1, assigned_at=timezone.now())
    now = timezone.now()
    assert log(world, outcomes["no_answer"], started_at=now - timedelta(hours=1)).saved
    assert log(world, outcomes["powered_off"], case=sibling, started_at=now - timedelta(minutes=50)).saved
    assert log(world, outcomes["no_answer"], case=other_creditor, started_at=now - timedelta(minutes=40)).saved
    old = log(world, outcomes["no_answer"], started_at=now - timedelta(days=9))
    assert old.saved
    t_party, _ = third(case)
    assert log(world, outcomes["tp_refused"], party=t_party, phone=t_party.phones.first(),
               started_at=now - timedelta(minutes=5)).saved is False  # debtor not unreachable yet (CN)

    history = build_context(req(case)).history
    assert [h.case_id for h in history] == [case.pk, sibling.pk]        # not the other creditor, not 9 days ago
    assert history[1].reached_line is False and history[0].reached_line is True
    assert all(h.party_is_debtor and h.creditor_id == world.creditor_a.pk and h.agency == "" for h in history)


def test_refusal_and_stop_today_flags_come_from_the_outcome(office_hours, world, outcomes):
    base = timezone.now() - timedelta(hours=1)
    for i in range(3):
        assert log(world, outcomes["no_answer"], started_at=base + timedelta(minutes=i)).saved
    t_party, t_phone = third(world.case)
    assert log(world, outcomes["tp_refused"], party=t_party, phone=t_phone).saved
    history = build_context(req(world.case)).history
    refused = [h for h in history if h.refused]
    assert len(refused) == 1 and refused[0].party_id == t_party.pk and not refused[0].party_is_debtor
    d = check_contact(req(world.case, party=t_party, phone=t_phone, purpose="callback"))
    assert "cn.third_party.refused" in rules(d)


def test_batch_loading_does_not_grow_with_the_number_of_requests(office_hours, world, outcomes):
    assert log(world, outcomes["no_answer"], started_at=timezone.now() - timedelta(minutes=30)).saved
    one = [req(world.case)]
    many = []
    for _ in range(6):
        case = make_case(world.placement_a, collector=world.collector, third_parties=2)
        for party in case.debtor.parties.all():
            many.append(req(case, party=party, phone=party.phones.first(), purpose="callback"))
    many += one
    ContextLoader(one)                                             # warm the layer cache
    with CaptureQueriesContext(connection) as q1:
        ContextLoader(one).contexts()
    with CaptureQueriesContext(connection) as qn:
        contexts = ContextLoader(many).contexts()
    assert len(contexts) == len(many) == 19
    assert len(qn.captured_queries) == len(q1.captured_queries) <= 9
    histories = {r.case_id: c.history for r, c in zip(many, contexts, strict=True)}
    assert len(histories[world.case.pk]) == 1


# --- holds, do-not-contact, preferences -------------------------------------------------------

def test_active_holds_stop_contact(office_hours, world):
    do_place_hold(world.case, "legal", acting_user=world.leader, note="起诉中")
    d = check_contact(req(world.case))
    assert not d.allowed and rules(d) == ["hold.legal"] and d.next_allowed_at is None


def test_do_not_call_on_a_number_and_lifting_it(office_hours, world):
    p, ph = debtor(world.case)
    dnc = ca.do_add_do_not_contact(case=world.case, phone=ph, reason="本人要求不要再打这个号码",
                                   acting_user=world.collector)
    assert CaseEvent.objects.filter(case=world.case, type="dnc_added").exists()
    assert AuditLog.objects.filter(action="dnc.add", object_id=str(dnc.pk)).exists()
    d = check_contact(req(world.case))
    assert rules(d) == ["house.do_not_call"] and d.next_allowed_at is None
    ca.do_lift_do_not_contact(dnc, acting_user=world.leader, reason="本人重新同意")
    assert check_contact(req(world.case)).allowed
    assert AuditLog.objects.filter(action="dnc.lift").exists()
    with pytest.raises(ActionError):
        ca.do_lift_do_not_contact(dnc, acting_user=world.leader, reason="again")


def test_do_not_contact_by_channel_and_on_all_channels(office_hours, world):
    ca.do_add_do_not_contact(debtor=world.case.debtor, channel="visit", reason="不要上门", acting_user=world.collector)
    assert check_contact(req(world.case)).allowed
    assert "house.do_not_contact" in rules(check_contact(req(world.case, channel="visit", phone=False or None)))
    ca.do_add_do_not_contact(case=world.case, reason="停止一切联系", acting_user=world.collector)
    assert "house.do_not_contact" in rules(check_contact(req(world.case)))
    # the case-wide request does not reach the debtor's other case
    other = Case.objects.create(placement=world.placement_a, debtor=world.case.debtor, creditor=world.creditor_a,
                                account_number="SIB-2", product="信用卡")
    assert check_contact(req(other)).allowed


def test_do_not_contact_validation(office_hours, world):
    _, other_phone = debtor(world.case_peer)
    with pytest.raises(ActionError) as e:
        ca.do_add_do_not_contact(case=world.case, phone=other_phone, channel="fax", reason="x",
                                 acting_user=world.collector)
    assert {"phone", "channel"} <= set(e.value.message_dict)
    with pytest.raises(ActionError) as e:
        ca.do_add_do_not_contact(case=world.case, reason=" ", acting_user=world.collector)
    assert "reason" in e.value.message_dict


def test_inconvenient_time_and_agreed_time(world):
    wednesday = datetime(2026, 11, 18, 10, 30, tzinfo=SH)
    pref = ca.do_add_contact_preference(case=world.case, kind="inconvenient", start=time(10, 0), end=time(12, 0),
                                        weekdays=[2], note="周三上午开会", acting_user=world.collector)
    assert CaseEvent.objects.filter(case=world.case, type="pref_added").exists()
    d = check_contact(req(world.case, wednesday))
    assert rules(d) == ["house.inconvenient"] and d.next_allowed_at == wednesday.replace(hour=12, minute=0)
    assert check_contact(req(world.case, wednesday + timedelta(days=1))).allowed   # Thursday
    ca.do_remove_contact_preference(pref, acting_user=world.collector, case=world.case)
    assert check_contact(req(world.case, wednesday)).allowed

    late = datetime(2026, 11, 18, 22, 30, tzinfo=SH)
    assert "cn.hours" in rules(check_contact(req(world.case, late)))
    ca.do_add_contact_preference(case=world.case, kind="agreed", start=time(22, 0), end=time(23, 0),
                                 on_date=date(2026, 11, 18), note="本人约定晚上十点后回电", acting_user=world.collector)
    assert check_contact(req(world.case, late)).allowed
    assert not check_contact(req(world.case, late + timedelta(days=1))).allowed
    with pytest.raises(ActionError):
        ca.do_add_contact_preference(case=world.case, kind="agreed", start=time(9), end=time(9),
                                     acting_user=world.collector)


# --- calendar ---------------------------------------------------------------------------------

def test_calendar_from_the_package_and_admin_dates(world):
    cal = build_calendar(date(2026, 9, 1), date(2026, 10, 31), world.creditor_a.pk)
    assert date(2026, 10, 1) in cal.holidays and date(2026, 10, 10) in cal.workdays
    assert cal.known_years == frozenset({2026}) and unknown_years(cal, date(2026, 9, 1), date(2026, 10, 31)) == []
    # A holiday blocks timed contact (house rule); the next allowed time is the first day after the break.
    d = check_contact(req(world.case, datetime(2026, 10, 1, 10, 0, tzinfo=SH)))
    assert rules(d) == ["house.holiday"] and d.next_allowed_at == datetime(2026, 10, 8, 8, 0, tzinfo=SH)


def test_a_year_the_package_does_not_arrange_is_reported_until_an_admin_adds_it(world):
    holidays_2027, _, official = package_year(2027)
    assert date(2027, 10, 1) in holidays_2027 and not official        # rule-based days only, no arrangement
    cal = build_calendar(date(2026, 12, 20), date(2027, 1, 20))
    assert 2027 not in cal.known_years and unknown_years(cal, date(2026, 12, 20), date(2027, 1, 20)) == [2027]
    row = ca.do_add_calendar_date(day=date(2027, 1, 4), kind="holiday", name="元旦调休", acting_user=world.admin)
    assert AuditLog.objects.filter(action="calendar.add", object_id=str(row.pk)).exists()
    cal = build_calendar(date(2026, 12, 20), date(2027, 1, 20))
    assert 2027 in cal.known_years and date(2027, 1, 4) in cal.holidays
    with pytest.raises(ActionError):
        ca.do_add_calendar_date(day=date(2027, 1, 4), kind="holiday", acting_user=world.admin)


def test_creditor_blackout_dates_apply_to_that_creditor_only(world):
    day = datetime(2026, 11, 20, 10, 0, tzinfo=SH)
    ca.do_add_calendar_date(day=day.date(), kind="blackout", creditor=world.creditor_a, name="甲方系统切换",
                            acting_user=world.admin)
    assert rules(check_contact(req(world.case, day))) == ["house.blackout"]
    assert check_contact(req(world.case_team2, day)).allowed
    with pytest.raises(ActionError):
        ca.do_add_calendar_date(day=day.date(), kind="holiday", creditor=world.creditor_a, acting_user=world.admin)


# --- policy layers from the database ---------------------------------------------------------

def test_seeded_layers_match_the_code_presets(db):
    rows = {r.name: r for r in PolicyLayerVersion.objects.filter(status="published")}
    assert set(rows) >= {"cn", "us", "house"}
    assert rows["cn"].params["max_unanswered_per_number_day"] == 6 and rows["cn"].version == 1


def test_creditor_layer_is_stacked_and_strictest_wins(office_hours, world, outcomes):
    row = ca.do_publish_policy_layer(kind="creditor", creditor=world.creditor_a, acting_user=world.supervisor,
                                     params={"max_calls_per_party_day": 3}, note="甲方合同：每日 3 次")
    assert row.name == "creditor:bank-a" and row.version == 1 and row.status == "published"
    base = timezone.now() - timedelta(hours=1)
    for i in range(3):
        assert log(world, outcomes["no_answer"], started_at=base + timedelta(minutes=i)).saved
    d = check_contact(req(world.case))
    assert rules(d) == ["creditor.daily_calls"] and d.reasons[0].layer == "creditor:bank-a"
    assert d.policy_version == "cn@1+creditor:bank-a@1+house@1"
    assert check_contact(req(world.case_team2)).policy_version == "cn@1+house@1"   # creditor B: no contract layer


def test_publishing_versions_retires_the_previous_and_is_audited(office_hours, world):
    house_v1 = PolicyLayerVersion.objects.get(name="house", status="published")
    params = dict(house_v1.params, max_calls_per_party_day=4)
    v2 = ca.do_publish_policy_layer(kind="house", params=params, note="每日 4 次", acting_user=world.supervisor)
    assert v2.version == house_v1.version + 1
    house_v1.refresh_from_db()
    assert house_v1.status == "retired"
    a = AuditLog.objects.get(action="policy.publish", object_id=str(v2.pk))
    assert a.actor == world.supervisor and a.data["retired"] == [f"house@{house_v1.version}"]
    assert check_contact(req(world.case)).policy_version == f"cn@1+house@{v2.version}"
    draft = ca.do_save_policy_draft(kind="house", params=dict(params, stop_today=True), acting_user=world.supervisor)
    assert draft.status == "draft" and draft.version == v2.version + 1
    assert check_contact(req(world.case)).policy_version == f"cn@1+house@{v2.version}"   # drafts are not in force
    ca.do_publish_policy_version(draft, acting_user=world.supervisor)
    assert check_contact(req(world.case)).policy_version == f"cn@1+house@{draft.version}"
    with pytest.raises(ActionError):
        ca.do_publish_policy_version(draft, acting_user=world.supervisor)


@pytest.mark.parametrize("params,field", [
    ({"no_such_rule": 1}, "params.no_such_rule"),
    ({"max_calls_per_party_day": "5"}, "params.max_calls_per_party_day"),
    ({"max_calls_per_party_day": True}, "params.max_calls_per_party_day"),
    ({"hours": ["22:00", "08:00"]}, "params.hours"),
    ({"hours": ["8am", "22:00"]}, "params.hours"),
    ({"stop_today": "yes"}, "params.stop_today"),
    ({"holds_block": ["holiday"]}, "params.holds_block"),
    ({"timezones": ["Mars/Olympus"]}, "params.timezones"),
    ({"content_scan": ["gossip"]}, "params.content_scan"),
])
def test_publish_validates_parameters(world, params, field):
    with pytest.raises(ActionError) as e:
        ca.do_publish_policy_layer(kind="house", params=params, acting_user=world.supervisor)
    assert field in e.value.message_dict
    with pytest.raises(ActionError) as e:
        ca.do_publish_policy_layer(kind="preset", name="mars", params={}, acting_user=world.supervisor)
    assert "name" in e.value.message_dict


def test_us_creditor_uses_the_us_preset_and_the_debtors_time_zones(world):
    world.creditor_b.jurisdiction = "us"
    world.creditor_b.save()
    case = world.case_team2
    ctx = build_context(req(case))
    assert [layer.name for layer in ctx.policy.layers] == ["us", "house"]
    assert ctx.facts.timezones == ()                                       # unknown: the policy's plausible zones
    case.debtor.timezones = "America/Los_Angeles"
    case.debtor.save()
    ctx = build_context(req(case))
    assert ctx.facts.timezones == ("America/Los_Angeles",)
    # 07:30 in Los Angeles is before 08:00 there
    d = decide(req(case, datetime(2026, 11, 18, 7, 30, tzinfo=ZoneInfo("America/Los_Angeles"))), ctx)
    assert "us.hours" in rules(d)


def test_stored_decision_names_the_policy_version(office_hours, world, outcomes):
    result = log(world, outcomes["no_answer"])
    stored = ComplianceDecision.objects.get(pk=result.contact.decision_id)
    assert stored.policy_version == "cn@1+house@1" and stored.allowed
    assert ContactAttempt.objects.get().flags == []


def test_phone_marked_invalid_is_a_fact(office_hours, world):
    _, ph = debtor(world.case)
    Phone.objects.filter(pk=ph.pk).update(status="invalid")
    assert build_context(req(world.case)).facts.invalid_phone_ids == (ph.pk,)
