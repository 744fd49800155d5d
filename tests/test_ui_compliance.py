"""The compliance officer's screens (decision log, refusals per rule per day, policy layers) and the
case page's contact pre-check."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qingshou.compliance.models import ComplianceDecision, PolicyLayerVersion
from qingshou.compliance.reports import filter_by_rule, refusals_by_rule
from qingshou.compliance.views import param_diff
from qingshou.contact.actions import do_log_contact
from qingshou.core.models import AuditLog
from qingshou.core.scoping import can, visible_decisions

pytestmark = pytest.mark.django_db


def _debtor(case):
    party = case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def _log(world, outcomes, code, *, case=None, user=None, minutes_ago=30, **kw):
    case = case or world.case
    party, phone = _debtor(case)
    kw.setdefault("party", party)
    kw.setdefault("phone", phone)
    return do_log_contact(case, outcome=outcomes[code], acting_user=user or world.collector,
                          started_at=timezone.now() - timedelta(minutes=minutes_ago), institution_stated=True, **kw)


def _stop_today(world, outcomes, case=None, user=None):
    """A call, then the debtor asks not to be called again today, then a refused third call."""
    assert _log(world, outcomes, "no_answer", case=case, user=user, minutes_ago=60).saved
    assert _log(world, outcomes, "stop_today", case=case, user=user, minutes_ago=40).saved
    refused = _log(world, outcomes, "no_answer", case=case, user=user, minutes_ago=5)
    assert not refused.saved
    return refused


# --- capabilities ------------------------------------------------------------------------------


def test_capabilities(world):
    assert can(world.supervisor, "compliance.view") and can(world.supervisor, "compliance.edit")
    assert can(world.qa, "compliance.view") and not can(world.qa, "compliance.edit")
    assert can(world.admin, "compliance.view") and can(world.admin, "compliance.edit")
    for user in (world.collector, world.leader, world.desk, world.lawyer, world.creditor_user_a):
        assert not can(user, "compliance.view") and not can(user, "compliance.edit")


# --- decision log ------------------------------------------------------------------------------


def test_decision_log_scope_links_and_filters(office_hours, world, outcomes, client_for):
    _stop_today(world, outcomes)
    _log(world, outcomes, "no_answer", case=world.case_team2, user=world.collector_team2)
    far = ComplianceDecision.objects.create(case_id=999_999, channel="sms", contact_at=timezone.now(),
                                            allowed=True, policy_version="cn@1+house@1")
    scope = visible_decisions(world.supervisor)
    assert scope.count() == 4 and far not in scope                # branch cases only
    assert visible_decisions(world.admin).count() == 5            # admin: all
    assert not visible_decisions(world.collector).exists()

    c = client_for(world.supervisor)
    html = c.get("/compliance/decisions/").content.decode()
    assert "决策日志" in html and "已拒绝" in html and "允许" in html
    assert f'href="/cases/{world.case.pk}/"' in html and world.case.account_number in html
    assert "今日已要求停止联系" in html                              # the rule, readable
    assert "#999999" not in html

    refused = c.get("/compliance/decisions/", {"allowed": "0"}).content.decode()
    assert refused.count('class="badge b-alert"') == 1
    rule = next(r["rule"] for r in ComplianceDecision.objects.get(allowed=False).reasons)
    assert rule.endswith("stop_today")
    by_rule = c.get("/compliance/decisions/", {"rule": rule}).content.decode()
    assert by_rule.count('class="badge b-alert"') == 1 and 'class="badge b-ok"' not in by_rule
    none = c.get("/compliance/decisions/", {"channel": "sms"}).content.decode()
    assert "暂无决策记录" in none
    assert "3 条决策" in c.get("/compliance/decisions/", {"user": world.collector.pk}).content.decode()
    mine = c.get("/compliance/decisions/", {"user": world.collector_team2.pk}).content.decode()
    assert "1 条决策" in mine
    today = timezone.localdate()
    assert "暂无决策记录" in c.get("/compliance/decisions/", {"date_to": str(today - timedelta(days=1))}
                                   ).content.decode()
    assert "4 条决策" in c.get("/compliance/decisions/", {"date_from": str(today), "date_to": str(today)}
                               ).content.decode()
    # Bad input is ignored, never an error page.
    for bad in ({"user": "abc"}, {"date_from": "99999-1-1"}, {"allowed": "x"}, {"rule": "<script>"}):
        assert c.get("/compliance/decisions/", bad).status_code == 200

    # Admins see every decision, but no case link and no account number.
    html = client_for(world.admin).get("/compliance/decisions/").content.decode()
    assert "#999999" in html and f"#{world.case.pk}" in html
    assert f'href="/cases/{world.case.pk}/"' not in html and world.case.account_number not in html


def test_filter_by_rule_matches_exactly(office_hours, world, outcomes):
    ComplianceDecision.objects.create(case_id=1, channel="call", contact_at=timezone.now(), allowed=False,
                                      reasons=[{"rule": "house.stop_today_x", "layer": "house",
                                                "message_zh": "甲", "message_en": "a"}], policy_version="v")
    hit = ComplianceDecision.objects.create(case_id=1, channel="call", contact_at=timezone.now(), allowed=False,
                                            reasons=[{"rule": "cn.hours", "layer": "cn", "message_zh": "乙",
                                                      "message_en": "b"},
                                                     {"rule": "house.stop_today", "layer": "house",
                                                      "message_zh": "丙", "message_en": "c"}],
                                            policy_version="v")
    assert list(filter_by_rule(ComplianceDecision.objects.all(), "house.stop_today")) == [hit]
    assert list(filter_by_rule(ComplianceDecision.objects.all(), "cn.hours")) == [hit]
    assert not filter_by_rule(ComplianceDecision.objects.all(), "house").exists()


# --- refusals per rule per day -------------------------------------------------------------------


def _decision(day_offset, rules, allowed=False):
    d = ComplianceDecision.objects.create(
        case_id=1, channel="call", contact_at=timezone.now(), allowed=allowed, policy_version="v",
        reasons=[{"rule": r, "layer": r.split(".")[0], "message_zh": "", "message_en": ""} for r in rules])
    ComplianceDecision.objects.filter(pk=d.pk).update(decided_at=timezone.now() - timedelta(days=day_offset))
    return d


def test_refusals_by_rule_counts_per_day(office_hours, world):
    _decision(0, ["house.stop_today"])
    _decision(0, ["house.stop_today", "cn.hours"])
    _decision(0, ["cn.hours", "cn.hours"])          # a rule twice in one decision counts once
    _decision(2, ["house.daily_calls"])
    _decision(0, [], allowed=True)                  # allowed: not counted
    _decision(40, ["cn.hours"])                     # outside the period
    table = refusals_by_rule(30, ComplianceDecision.objects.all())
    today = timezone.localdate()
    assert len(table.days) == 30 and table.days[0] == today and table.days[-1] == today - timedelta(days=29)
    assert table.rules == ["cn.hours", "house.stop_today", "house.daily_calls"]
    assert table.counts[(today, "house.stop_today")] == 2
    assert table.counts[(today, "cn.hours")] == 2
    assert table.counts[(today - timedelta(days=2), "house.daily_calls")] == 1
    assert table.day_totals[today] == 3 and table.total == 4
    assert table.rows()[0] == (today, [2, 2, 0], 3)
    assert refusals_by_rule(7, ComplianceDecision.objects.none()).total == 0


def test_refusals_page(office_hours, world, outcomes, client_for):
    _stop_today(world, outcomes)
    c = client_for(world.qa)
    r = c.get("/compliance/refusals/")
    html = r.content.decode()
    assert r.status_code == 200 and "按规则统计拒绝" in html and "今日已要求停止联系" in html
    assert 'class="num hit"' in html and "rule=house.stop_today" in html
    assert c.get("/compliance/refusals/", {"days": "7"}).status_code == 200
    assert c.get("/compliance/refusals/", {"days": "x"}).status_code == 200
    # Out of scope: another branch's supervisor sees no refusal.
    from tests.factories import make_user

    other = make_user("sup_bj", "supervisor", branch=world.other_branch)
    assert "此期间没有拒绝记录" in client_for(other).get("/compliance/refusals/").content.decode()


def test_compliance_pages_are_refused_to_case_workers(world, client_for):
    for user in (world.collector, world.leader, world.creditor_user_a, world.desk):
        c = client_for(user)
        for url in ("/compliance/decisions/", "/compliance/refusals/", "/compliance/policies/",
                    "/compliance/policies/house/"):
            assert c.get(url).status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", reason="compliance.view").exists()


# --- policy layers -------------------------------------------------------------------------------


def test_policies_page_is_readable(world, client_for):
    html = client_for(world.qa).get("/compliance/policies/").content.decode()
    assert "策略层" in html
    assert "联系时段" in html and "08:00–22:00" in html and "08:00–21:00" in html
    assert "每人每日拨打次数" in html
    for name in ("cn@1", "us@1", "house@1"):
        assert name in html
    assert "添加合同规则" not in html               # QA reads, does not edit
    layer = client_for(world.qa).get("/compliance/policies/house/").content.decode()
    assert "版本历史" in layer and 'id="policy-form"' not in layer
    assert client_for(world.qa).post("/compliance/policies/house/", {"note": "x"}).status_code == 403


def _form_data(client, name):
    """The edit form's current values, as the browser would post them."""
    from qingshou.compliance.forms import PolicyLayerForm

    row = PolicyLayerVersion.objects.get(name=name, status="published")
    form = PolicyLayerForm(params=row.params)
    data = {}
    for fname, field in form.fields.items():
        value = form.initial.get(fname, field.initial)
        if value in (None, False, ""):
            continue
        if value is True:
            data[fname] = "on"
        else:
            data[fname] = value
    return data


def test_publish_a_new_house_version_and_see_the_diff(world, client_for):
    c = client_for(world.supervisor)
    page = c.get("/compliance/policies/house/").content.decode()
    assert 'id="policy-form"' in page
    data = _form_data(c, "house")
    assert data["max_calls_per_party_day"] == 5
    data.update({"max_calls_per_party_day": "4", "weekends_blocked": "true", "note": "委托方要求每日最多 4 次"})
    data["holds_block"] = [h for h in data["holds_block"] if h != "other"]
    r = c.post("/compliance/policies/house/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    new = PolicyLayerVersion.objects.get(name="house", status="published")
    assert new.version == 2 and new.params["max_calls_per_party_day"] == 4 and new.params["weekends_blocked"]
    assert "other" not in new.params["holds_block"]
    assert new.published_by == world.supervisor and new.note == "委托方要求每日最多 4 次"
    assert PolicyLayerVersion.objects.get(name="house", version=1).status == "retired"
    assert AuditLog.objects.filter(action="policy.publish", actor=world.supervisor).exists()
    # Unchanged parameters stay as they were.
    old = PolicyLayerVersion.objects.get(name="house", version=1)
    for k, v in old.params.items():
        if k not in ("max_calls_per_party_day", "holds_block"):
            assert new.params[k] == v, k

    html = c.get("/compliance/policies/house/").content.decode()
    assert "从版本 1 到版本 2 的变更" in html
    assert "<del>5</del>" in html and "<ins>4</ins>" in html
    assert "周末不联系" in html and "− 其他" in html
    # Diff between explicit versions, either direction.
    back = c.get("/compliance/policies/house/", {"a": "2", "b": "1"}).content.decode()
    assert "<del>4</del>" in back and "<ins>5</ins>" in back
    assert c.get("/compliance/policies/house/", {"v": "1"}).status_code == 200


def test_publish_refuses_bad_values_and_needs_a_note(world, client_for):
    c = client_for(world.admin)
    data = _form_data(c, "house")
    r = c.post("/compliance/policies/house/", {**data, "note": ""})
    assert r.status_code == 200 and "此项为必填项" in r.content.decode()
    r = c.post("/compliance/policies/house/", {**data, "hours__start": "22:00", "hours__end": "08:00",
                                               "note": "试"})
    assert r.status_code == 200 and 'class="ferr"' in r.content.decode()
    assert PolicyLayerVersion.objects.filter(name="house").count() == 1


def test_new_creditor_layer(world, client_for):
    c = client_for(world.supervisor)
    assert "添加合同规则" in c.get("/compliance/policies/").content.decode()
    r = c.post("/compliance/policies/creditor:bank-a/", {"max_calls_per_party_day": "3",
                                                         "note": "甲银行合同：每人每日最多 3 次"})
    assert r.status_code == 302
    row = PolicyLayerVersion.objects.get(name="creditor:bank-a")
    assert row.kind == "creditor" and row.creditor == world.creditor_a and row.params == {
        "max_calls_per_party_day": 3}
    assert c.get("/compliance/policies/creditor:nope/").status_code == 404
    assert c.get("/compliance/policies/whatever/").status_code == 404


def test_param_diff():
    diff = param_diff({"hours": ["08:00", "22:00"], "stop_today": True, "holds_block": ["fraud", "dispute"]},
                      {"hours": ["09:00", "21:00"], "holds_block": ["fraud", "closed"], "weekends_blocked": True})
    by = {d["name"]: d for d in diff}
    assert by["hours"]["change"] == "changed" and by["hours"]["new"] == "09:00–21:00"
    assert by["stop_today"]["change"] == "removed"
    assert by["weekends_blocked"]["change"] == "added"
    assert by["holds_block"]["added"] and by["holds_block"]["removed"]
    assert [d["name"] for d in diff] == ["hours", "weekends_blocked", "stop_today", "holds_block"]


# --- case page: contact pre-check ----------------------------------------------------------------


def test_precheck_allows_then_refuses_after_stop_today(office_hours, world, outcomes, client_for):
    party, phone = _debtor(world.case)
    c = client_for(world.collector)
    case_page = c.get(f"/cases/{world.case.pk}/").content.decode()
    assert f"/cases/{world.case.pk}/precheck/" in case_page and 'id="precheck"' in case_page
    url = f"/cases/{world.case.pk}/precheck/"
    ok = c.get(url, {"party": party.pk, "phone": phone.pk, "channel": "call"}).content.decode()
    assert "可以联系" in ok and 'id="call-btn"' in ok and "disabled" not in ok

    assert _log(world, outcomes, "stop_today", minutes_ago=20).saved
    before = ComplianceDecision.objects.count()
    no = c.get(url, {"party": party.pk, "phone": phone.pk, "channel": "call"}).content.decode()
    assert "现在不可联系" in no and "今日已要求停止联系" in no and "下次可联系时间" in no
    assert "disabled" in no
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert tomorrow in no
    assert ComplianceDecision.objects.count() == before          # a preview stores nothing
    # A letter is not stopped by "stop today".
    letter = c.get(url, {"party": party.pk, "channel": "letter"}).content.decode()
    assert "现在不可联系" not in letter or "今日已要求停止联系" not in letter


def test_precheck_bad_input_and_scope(office_hours, world, client_for):
    c = client_for(world.collector)
    url = f"/cases/{world.case.pk}/precheck/"
    _, other_phone = _debtor(world.case_peer)
    for params in ({}, {"party": "x"}, {"channel": "fax"}, {"phone": other_phone.pk}, {"started_at": "nonsense"},
                   {"party": "99999999999999999999999"}):
        r = c.get(url, params)
        assert r.status_code == 200 and other_phone.number[-4:] not in r.content.decode()
    assert client_for(world.collector_peer).get(url).status_code == 404
    assert client_for(world.creditor_user_a).get(url).status_code == 403
