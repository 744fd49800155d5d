"""Recall (退案) and retention (留案): by date through the scheduler, by a list file, and the recall file."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from qingshou.contact.models import ContactAttempt
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.core.scheduler import JOBS, Scheduler
from qingshou.payments.actions import do_make_promise, do_record_payment
from qingshou.portfolio.actions import do_extend_placement, do_recall_cases, do_retain_cases
from qingshou.portfolio.jobs import recall_expired
from qingshou.portfolio.models import Assignment, Case, CaseEvent, CaseStatus
from qingshou.portfolio.recall import recall_from_file, recalled_cases, write_recall_file
from qingshou.strategy.queue import work_queue


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def end_placement(placement, days_ago=1):
    placement.ends_on = timezone.localdate() - timedelta(days=days_ago)
    placement.save()


def test_recall_action_unassigns_records_history_and_timeline(office_hours, world):
    case = world.case
    assert do_recall_cases([case.pk], acting_user=world.supervisor, reason="甲方要求退案") == [case.pk]
    case.refresh_from_db()
    assert case.status == CaseStatus.RECALLED and case.assigned_to is None and case.locked_by is None
    assert case.team == world.team1  # the history of who worked it stays readable
    a = Assignment.objects.filter(case=case).last()
    assert a.kind == "withdraw" and a.from_user == world.collector and a.reason == "甲方要求退案"
    assert case.status_history.get().from_status == "active"
    ev = CaseEvent.objects.get(case=case, type="recalled")
    assert ev.data["old"] == "active" and ev.data["from"] == "c1"
    assert AuditLog.objects.filter(action="case.recall", case_id=case.pk, actor=world.supervisor).exists()
    assert case not in work_queue(world.collector)
    # Again: nothing happens (already recalled).
    assert do_recall_cases([case.pk], acting_user=world.supervisor, reason="再次") == []
    with pytest.raises(ActionError):
        do_recall_cases([case.pk], acting_user=world.supervisor, reason="")


def test_scheduler_recalls_cases_of_ended_placements_unless_retained(office_hours, world):
    assert "portfolio.recall_expired" in JOBS
    end_placement(world.placement_a)
    kept = world.case_peer
    do_retain_cases([kept.pk], until=timezone.localdate() + timedelta(days=10), acting_user=world.supervisor,
                    reason="客户有还款意愿")
    settled = Case.objects.create(placement=world.placement_a, debtor=world.case.debtor, creditor=world.creditor_a,
                                  account_number="SETTLED1", product="信用卡", status=CaseStatus.SETTLED)
    result = recall_expired(timezone.now())
    assert result == {"recalled": 1}
    statuses = dict(Case.objects.values_list("pk", "status"))
    assert statuses[world.case.pk] == "recalled"
    assert statuses[kept.pk] == "active"                 # retained
    assert statuses[settled.pk] == "settled"             # not recallable
    assert statuses[world.case_team2.pk] == "active"     # placement B still running
    assert CaseEvent.objects.filter(case=kept, type="retained").exists()
    change = world.case.status_history.get()
    assert change.by is None and change.reason == "placement period ended"
    assert recall_expired(timezone.now()) == {"recalled": 0}

    # The retention ends: the next run after it recalls the case.
    later = timezone.now() + timedelta(days=11)
    assert recall_expired(later) == {"recalled": 1}
    kept.refresh_from_db()
    assert kept.status == "recalled"


def test_placement_ends_today_is_not_yet_recalled_and_extension_wins(office_hours, world):
    world.placement_a.ends_on = timezone.localdate()
    world.placement_a.save()
    assert recall_expired(timezone.now()) == {"recalled": 0}
    do_extend_placement(world.placement_a, ends_on=timezone.localdate() + timedelta(days=30),
                        acting_user=world.supervisor, reason="甲方同意留案一个月")
    assert recall_expired(timezone.now() + timedelta(days=5)) == {"recalled": 0}
    assert AuditLog.objects.filter(action="placement.extend").exists()
    with pytest.raises(ActionError):
        do_extend_placement(world.placement_a, ends_on=timezone.localdate(), acting_user=world.supervisor,
                            reason="缩短")
    with pytest.raises(ActionError):
        do_retain_cases([world.case.pk], until=timezone.localdate() - timedelta(days=1),
                        acting_user=world.supervisor, reason="过去")


def test_recall_rechecks_after_locking(office_hours, world):
    """A case retained between the scheduler's read and its action is not recalled."""
    end_placement(world.placement_a)
    today = timezone.localdate()
    do_retain_cases([world.case.pk], until=today + timedelta(days=3), acting_user=world.supervisor, reason="留案")
    assert do_recall_cases([world.case.pk, world.case_peer.pk], acting_user=None, reason="placement period ended",
                           due_on=today) == [world.case_peer.pk]


def test_the_job_runs_from_the_scheduler(office_hours, world):
    end_placement(world.placement_a)
    sched = Scheduler(jobs={"portfolio.recall_expired": JOBS["portfolio.recall_expired"]}, scheduler_id="s1")
    results = sched.run_due()
    assert results == {"portfolio.recall_expired": {"recalled": 2}}


def _list_file(lines, header="卡号") -> bytes:
    return ("\r\n".join(([header] if header else []) + lines) + "\r\n").encode("gbk")


def test_manual_recall_from_a_list_file(office_hours, world):
    Case.objects.filter(pk=world.case_peer.pk).update(status=CaseStatus.SETTLED)
    data = _list_file([world.case.account_number, world.case_peer.account_number, "NOPE1",
                       world.case_team2.account_number, world.case.account_number])
    report = recall_from_file(io.BytesIO(data), creditor=world.creditor_a, acting_user=world.supervisor,
                              reason="甲方退案清单")
    assert report.case_ids == [world.case.pk]
    assert report.not_found == [(4, "NOPE1"), (5, world.case_team2.account_number)]  # other creditor's: not found
    assert report.not_recallable == [(3, world.case_peer.account_number, "settled")]
    world.case.refresh_from_db()
    assert world.case.status == "recalled"
    world.case_team2.refresh_from_db()
    assert world.case_team2.status == "active"


def test_list_file_without_header_and_command(office_hours, world, tmp_path, capsys):
    path = tmp_path / "recall.csv"
    path.write_bytes(_list_file([world.case.account_number, "'" + world.case_peer.account_number, "X"],
                                header=None))
    call_command("recall_cases", str(path), creditor="bank-a", reason="甲方退案", user="sup")
    out = capsys.readouterr().out
    assert "2 cases recalled" in out and "1 not found" in out
    assert set(Case.objects.filter(status="recalled").values_list("pk", flat=True)) == {world.case.pk,
                                                                                      world.case_peer.pk}
    with pytest.raises(CommandError):
        call_command("recall_cases", str(path), creditor="bank-a", reason="")


def test_recall_file_lists_cases_last_status_and_the_work_done(office_hours, world, outcomes, tmp_path):
    from openpyxl import load_workbook

    case = world.case
    party = case.debtor.parties.get(relation="self")
    # The work done, written directly (the compliance rules of logging are not what is tested here).
    ContactAttempt.objects.create(case=case, party=party, phone=party.phones.first(), collector=world.collector,
                                  started_at=timezone.now() - timedelta(minutes=10), duration_seconds=60,
                                  outcome=outcomes["ptp"], notes="本人承诺下周还款")
    do_make_promise(case, amount=Decimal("500.00"), due_date=timezone.localdate() + timedelta(days=5),
                    acting_user=world.collector)
    do_record_payment(case, amount=Decimal("500.00"), paid_at=timezone.now(), source_ref="P-1")
    do_make_promise(case, amount=Decimal("100.00"), due_date=timezone.localdate() + timedelta(days=2),
                    acting_user=world.collector)
    Case.objects.filter(pk=world.case_peer.pk).update(status=CaseStatus.LEGAL)
    do_recall_cases([case.pk, world.case_peer.pk], acting_user=world.supervisor, reason="到期退案")

    out = tmp_path / "recall.xlsx"
    call_command("recall_file", creditor="bank-a", output=str(out), since=timezone.localdate().isoformat())
    ws = load_workbook(out).active
    rows = list(ws.values)
    header = rows[0]
    assert header[0] == "卡号/合同号" and "退案前状态" in header and "催收次数" in header and "最后催记" in header
    by_account = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_account) == {case.account_number, world.case_peer.account_number}
    r = by_account[case.account_number]
    assert r["退案前状态"] == "催收中" or r["退案前状态"]  # the label of "active"
    assert r["催收次数"] == 1 and r["本人接通"] == 1 and r["最后催记"] == "本人承诺下周还款"
    assert r["承诺笔数"] == 2 and r["已履约"] == 1
    assert Decimal(str(r["已还"])) == Decimal("500") and Decimal(str(r["委案金额"])) == Decimal("12000")
    assert r["最后催收员"] == "c1"
    assert by_account[world.case_peer.account_number]["退案前状态"] != r["退案前状态"]  # legal vs active
    # Nothing from other creditors; no phone or ID numbers.
    flat = " ".join(str(v) for row in rows for v in row if v is not None)
    assert world.case_team2.account_number not in flat
    assert case.debtor.id_number not in flat and party.phones.first().number not in flat

    assert recalled_cases(world.creditor_a, since=timezone.localdate() + timedelta(days=1)).count() == 0
    buf = io.BytesIO()
    assert write_recall_file(recalled_cases(world.creditor_b), buf) == 0
