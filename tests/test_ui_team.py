"""The team leader's page: figures from the records, bulk reassignment and withdrawal."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.contact.models import ContactAttempt, OutcomeCode
from qingshou.core.models import AuditLog
from qingshou.payments.models import Promise
from qingshou.portfolio.models import Assignment, Case, CaseHold
from qingshou.reports.figures import team_figures
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def _today_at():
    """A moment earlier today (local), whatever the time of day the test runs."""
    now = timezone.localtime()
    start = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    return start + (now - start) / 2


def _contact(case, collector, code, at):
    party = case.debtor.parties.get(relation="self")
    return ContactAttempt.objects.create(
        case=case,
        party=party,
        phone=party.phones.first(),
        collector=collector,
        outcome=OutcomeCode.objects.get(code=code),
        started_at=at,
    )


def _records(world):
    at = _today_at()
    yesterday = at - timedelta(days=1)
    c1, c2, c3 = world.collector, world.collector_peer, world.collector_team2
    for code in ("no_answer", "powered_off", "rpc", "ptp", "tpc"):
        _contact(world.case, c1, code, at)
    _contact(world.case, c1, "rpc", yesterday)  # another day: not counted
    _contact(world.case_peer, c2, "deceased", at)
    _contact(world.case_peer, c2, "no_answer", at)
    _contact(world.case_team2, c3, "rpc", at)  # other team: not counted
    Promise.objects.create(
        case=world.case, amount=Decimal("1200.50"), due_date=timezone.localdate(), created_by=c1
    )
    Promise.objects.create(
        case=world.case,
        amount=Decimal("999.00"),
        due_date=timezone.localdate(),
        created_by=c1,
        status=Promise.Status.CANCELLED,
    )  # superseded: not counted
    Promise.objects.create(
        case=world.case_peer, amount=Decimal("300.00"), due_date=timezone.localdate(), created_by=c2
    )
    CaseHold.objects.create(case=world.case_peer, reason="deceased", placed_by=c2)
    CaseHold.objects.create(case=world.case, reason="fraud", placed_by=c1)
    CaseHold.objects.create(case=world.case, reason="complaint", placed_by=c1)  # not a figure
    make_case(world.placement_a, collector=c2, assigned_days_ago=3)  # first call overdue
    make_case(world.placement_a, collector=c2, assigned_days_ago=1)  # not yet overdue


def test_team_figures_computed_from_records(world):
    _records(world)
    figs = team_figures(world.team1, timezone.localdate())
    rows = {r.user.username: r.figures for r in figs.rows}
    assert set(rows) == {"c1", "c2", "lead1"}
    f1, f2 = rows["c1"], rows["c2"]
    assert (f1.attempts, f1.connected, f1.right_party) == (5, 3, 2)
    assert f1.contact_rate == pytest.approx(0.6)
    assert (f1.promises, f1.promised_amount) == (1, Decimal("1200.50"))
    assert (f1.deceased, f1.fraud) == (0, 1)
    assert (f2.attempts, f2.connected, f2.right_party, f2.deceased, f2.first_call_overdue) == (2, 1, 0, 1, 1)
    t = figs.totals
    assert (t.attempts, t.connected, t.right_party, t.promises) == (7, 4, 2, 2)
    assert t.promised_amount == Decimal("1500.50")
    assert (t.deceased, t.fraud, t.first_call_overdue) == (1, 1, 1)
    assert t.contact_rate == pytest.approx(4 / 7)
    assert rows["lead1"].contact_rate is None
    yesterday = team_figures(world.team1, timezone.localdate() - timedelta(days=1))
    assert yesterday.totals.attempts == 1 and yesterday.totals.promises == 0


def test_team_page_shows_figures(world, client_for):
    _records(world)
    r = client_for(world.leader).get("/reports/team/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "今日数据" in html and "团队合计" in html
    assert "60.0%" in html and "57.1%" in html and "1,500.50" in html
    assert world.case.account_number in html and world.case_team2.account_number not in html
    assert "调案给" in html
    r = client_for(world.leader).get("/reports/team/", {"day": "not-a-date", "team": world.team1.pk})
    assert r.status_code == 200
    r = client_for(world.leader).get("/reports/team/", {"day": "9999-12-31"})
    assert r.status_code == 200


def test_team_page_is_for_leaders_and_supervisors(world, client_for):
    for user in (world.collector, world.creditor_user_a, world.qa, world.admin):
        assert client_for(user).get("/reports/team/").status_code == 403
    assert AuditLog.objects.filter(action="permission.denied", actor=world.collector).exists()
    sup = client_for(world.supervisor)
    assert sup.get("/reports/team/").status_code == 200
    assert (
        world.case_team2.account_number
        in sup.get("/reports/team/", {"team": world.team2.pk}).content.decode()
    )
    # A team outside the leader's scope.
    assert client_for(world.leader).get("/reports/team/", {"team": world.team2.pk}).status_code == 403
    assert client_for(world.leader).get("/reports/team/", {"team": "abc"}).status_code == 403


def test_bulk_reassign_with_reason_moves_cases_and_audits(world, client_for):
    extra = make_case(world.placement_a, collector=world.collector)
    c = client_for(world.leader)
    data = {
        "team": world.team1.pk,
        "op": "reassign",
        "to_user": world.collector_peer.pk,
        "reason": "均衡工作量",
        "case_ids": [world.case.pk, extra.pk, world.case_team2.pk],
    }
    r = c.post("/reports/team/", data)
    assert r.status_code == 302
    world.case.refresh_from_db()
    extra.refresh_from_db()
    world.case_team2.refresh_from_db()
    assert world.case.assigned_to == world.collector_peer and extra.assigned_to == world.collector_peer
    assert world.case_team2.assigned_to == world.collector_team2  # out of scope: untouched
    rows = AuditLog.objects.filter(action="case.reassign", actor=world.leader)
    assert rows.count() == 2 and {r.reason for r in rows} == {"均衡工作量"}
    assert Assignment.objects.filter(kind="reassign", reason="均衡工作量").count() == 2
    assert "已将 2 个案件调给 c2" in c.get(r["Location"]).content.decode()


def test_bulk_reassign_needs_reason_target_and_cases(world, client_for):
    c = client_for(world.leader)
    base = {
        "team": world.team1.pk,
        "op": "reassign",
        "to_user": world.collector_peer.pk,
        "reason": "均衡",
        "case_ids": [world.case.pk],
    }
    r = c.post("/reports/team/", {**base, "reason": ""})
    assert r.status_code == 200 and "此项为必填项" in r.content.decode()
    r = c.post("/reports/team/", {**base, "to_user": ""})
    assert "请选择接收案件的催收员" in r.content.decode()
    r = c.post(
        "/reports/team/", {**base, "to_user": world.collector_team2.pk}
    )  # not assignable by this leader
    assert r.status_code == 200 and "选择一个有效的选项" in r.content.decode()
    r = c.post("/reports/team/", {**base, "case_ids": []})
    assert "请至少选择一个案件" in r.content.decode()
    for junk in (["abc"], ["99999999999999999999999"], ["-1"], [str(world.case_team2.pk)]):
        r = c.post("/reports/team/", {**base, "case_ids": junk})
        assert r.status_code == 200 and "请至少选择一个案件" in r.content.decode()
    r = c.post("/reports/team/", {**base, "op": "explode"})
    assert r.status_code == 200
    world.case.refresh_from_db()
    assert world.case.assigned_to == world.collector
    assert not AuditLog.objects.filter(action="case.reassign").exists()


def test_bulk_withdraw(world, client_for):
    r = client_for(world.leader).post(
        "/reports/team/",
        {"team": world.team1.pk, "op": "withdraw", "reason": "离职交接", "case_ids": [world.case.pk]},
    )
    assert r.status_code == 302
    world.case.refresh_from_db()
    assert world.case.assigned_to is None
    assert AuditLog.objects.filter(action="case.withdraw", reason="离职交接").count() == 1
    assert Case.objects.get(pk=world.case_peer.pk).assigned_to == world.collector_peer
