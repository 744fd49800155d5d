"""Repayment files: idempotent on the creditor's transaction id, matched by account number, unmatched
rows reported, balances reduced by the waterfall, promises kept, cases settled, every payment on the
timeline and in the audit log."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from qingshou.core.models import AuditLog
from qingshou.payments.actions import PaymentLine, do_make_promise, do_record_payments
from qingshou.payments.intake import (
    create_payment_import,
    parse_amount,
    parse_paid_at,
    propose_payment_mapping,
    run_payment_import,
)
from qingshou.payments.models import Payment, Promise
from qingshou.portfolio.models import CaseEvent, CaseStatus, Import, Placement
from tests.factories import make_case

HEAD = ["卡号", "交易流水号", "还款金额", "还款日期"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def csv_bytes(rows, *, header=HEAD, encoding="gbk") -> bytes:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def run(world, data: bytes, *, name="huikuan.csv", creditor=None, **kw) -> Import:
    imp = create_payment_import(io.BytesIO(data), creditor=creditor or world.creditor_a, file_name=name,
                                acting_user=world.supervisor, **kw)
    return run_payment_import(imp.pk)


def errors(imp):
    return [(e.row, e.code) for e in imp.row_errors.all()]


def test_gbk_file_records_payments_reports_unmatched_and_fills_the_timeline(office_hours, world):
    c = world.case
    yesterday = timezone.localdate() - timedelta(days=1)
    data = csv_bytes([
        [c.account_number, "TX0001", "1,500.00", yesterday.isoformat()],
        ["6222000011112222", "TX0002", "300", yesterday.isoformat()],
        [world.case_peer.account_number, "TX0003", "￥200.50", yesterday.strftime("%Y/%m/%d")],
    ])
    imp = run(world, data)
    assert imp.status == Import.Status.SUCCEEDED, imp.message
    assert imp.kind == "payment" and imp.created_count == 2 and imp.total_rows == 3
    assert imp.options["unmatched"] == 1 and imp.invalid_rows == 0
    assert errors(imp) == [(3, "unmatched")]
    err = imp.row_errors.get()
    assert err.reason_zh == "甲方名下没有此卡号的案件。" and err.column == "卡号" and err.value == "6222000011112222"
    assert imp.error_report and imp.error_report.name.endswith(".xlsx")

    c.refresh_from_db()
    # 12,000 = 9,600 principal + 2,400 interest; the waterfall takes interest before principal.
    assert (c.interest, c.principal, c.total_due) == (Decimal("900.00"), Decimal("9600.00"), Decimal("10500.00"))
    p = Payment.objects.get(creditor_txn_id="TX0001")
    assert p.case == c and p.creditor == world.creditor_a and p.amount == Decimal("1500.00")
    assert timezone.localdate(p.paid_at) == yesterday
    assert CaseEvent.objects.filter(case=c, type="payment_received", data__ref="TX0001").exists()
    assert AuditLog.objects.filter(action="payment.record", case_id=c.pk, actor=world.supervisor).exists()
    assert Payment.objects.get(creditor_txn_id="TX0003").amount == Decimal("200.50")


def test_same_file_twice_is_a_no_op_and_overlapping_files_record_only_the_new(office_hours, world):
    c = world.case
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    first = csv_bytes([[c.account_number, "T1", "100", day], [c.account_number, "T2", "200", day]])
    assert run(world, first).created_count == 2
    again = run(world, first)
    assert again.status == Import.Status.NO_OP
    assert "已" in again.message or "already" in again.message
    assert Payment.objects.filter(case=c).count() == 2

    overlap = csv_bytes([[c.account_number, "T2", "200", day], [c.account_number, "T3", "50", day]])
    imp = run(world, overlap)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 1
    assert imp.options["already_recorded"] == 1
    c.refresh_from_db()
    assert c.total_due == Decimal("12000.00") - 350


def test_transaction_id_is_per_creditor(office_hours, world):
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    run(world, csv_bytes([[world.case.account_number, "SAME", "10", day]]))
    imp = run(world, csv_bytes([[world.case_team2.account_number, "SAME", "10", day]]), creditor=world.creditor_b)
    assert imp.created_count == 1
    assert Payment.objects.filter(creditor_txn_id="SAME").count() == 2


def test_an_account_of_another_creditor_is_unmatched(office_hours, world):
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    imp = run(world, csv_bytes([[world.case_team2.account_number, "X1", "10", day]]))
    assert errors(imp) == [(2, "unmatched")] and imp.created_count == 0
    assert not Payment.objects.exists()


def test_a_known_transaction_id_with_other_values_is_an_error(office_hours, world):
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    run(world, csv_bytes([[world.case.account_number, "T9", "100", day]]))
    imp = run(world, csv_bytes([[world.case.account_number, "T9", "999", day]]))
    assert imp.status == Import.Status.REJECTED
    assert errors(imp) == [(2, "txn_conflict")]
    assert Payment.objects.get().amount == Decimal("100.00")


def test_invalid_rows_reject_the_file_unless_skipped(office_hours, world):
    c = world.case
    today = timezone.localdate()
    rows = [
        [c.account_number, "G1", "100", today.isoformat()],
        [c.account_number, "", "100", today.isoformat()],                         # no transaction id
        [c.account_number, "B2", "abc", today.isoformat()],                       # not an amount
        [c.account_number, "B3", "-5", "2026-13-40"],                              # negative, bad date: 2 errors
        [c.account_number, "B4", "10.001", (today + timedelta(days=2)).isoformat()],  # 3 decimals, future
        [c.account_number, "G1", "120", today.isoformat()],                       # same id, other values
        [c.account_number, "G5", "60", today.isoformat()],
    ]
    imp = run(world, csv_bytes(rows))
    assert imp.status == Import.Status.REJECTED
    assert imp.invalid_rows == 5 and imp.total_rows == 7
    assert errors(imp) == [(3, "required"), (4, "amount"), (5, "amount"), (5, "date"), (6, "amount"),
                           (6, "date"), (7, "duplicate_txn")]
    assert not Payment.objects.exists()
    assert "5" in imp.message

    imp = run(world, csv_bytes(rows), skip_invalid=True)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 2
    assert set(Payment.objects.values_list("creditor_txn_id", flat=True)) == {"G1", "G5"}
    assert imp.row_errors.count() == 7


def test_identical_repeated_rows_count_once(office_hours, world):
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    row = [world.case.account_number, "R1", "100", day]
    imp = run(world, csv_bytes([row, row]))
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 1 and not errors(imp)
    assert imp.options["repeated_in_file"] == 1


def test_missing_columns_reject_the_file(office_hours, world):
    imp = run(world, csv_bytes([["x", "1"]], header=["卡号", "金额X"]))
    assert imp.status == Import.Status.REJECTED
    assert [e.code for e in imp.row_errors.all()] == ["missing_column"] * 3
    zh = " ".join(imp.row_errors.values_list("reason_zh", flat=True))
    assert "交易流水号" in zh and "还款金额" in zh and "还款日期" in zh


def test_dry_run_records_nothing(office_hours, world):
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    imp = run(world, csv_bytes([[world.case.account_number, "D1", "100", day]]), dry_run=True)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 0
    assert imp.options["to_record"] == 1
    assert not Payment.objects.exists()


def test_promise_kept_and_case_settled(office_hours, world):
    c = world.case
    promise = do_make_promise(c, amount=Decimal("2000.00"), due_date=timezone.localdate() + timedelta(days=3),
                              acting_user=world.collector)
    today = timezone.localdate().isoformat()
    imp = run(world, csv_bytes([[c.account_number, "P1", "2000", today]]))
    assert imp.created_count == 1
    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT and promise.paid_amount == Decimal("2000.00")
    assert CaseEvent.objects.filter(case=c, type="promise_kept").exists()

    imp = run(world, csv_bytes([[c.account_number, "P2", "10000", today]]))
    assert imp.options["settled_cases"] == 1
    c.refresh_from_db()
    assert c.total_due == 0 and c.status == CaseStatus.SETTLED
    assert c.status_history.filter(to_status="settled").exists()


def test_payment_goes_to_the_most_recent_placement_of_the_account(office_hours, world):
    newer = Placement.objects.create(creditor=world.creditor_a, code="A-002",
                                     starts_on=timezone.localdate() - timedelta(days=1),
                                     ends_on=timezone.localdate() + timedelta(days=90))
    again = make_case(newer)
    again.account_number = world.case.account_number
    again.save()
    imp = run(world, csv_bytes([[world.case.account_number, "N1", "100", timezone.localdate().isoformat()]]))
    assert imp.created_count == 1
    assert Payment.objects.get().case == again


def test_xlsx_with_separate_date_and_time_columns(office_hours, world):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["合同号", "流水号", "入账金额", "交易日期", "交易时间"])
    ws.append([world.case.account_number, "X-1", 88.5, date(2026, 11, 17), "14:05:09"])
    buf = io.BytesIO()
    wb.save(buf)
    imp = run(world, buf.getvalue(), name="回款.xlsx")
    assert imp.status == Import.Status.SUCCEEDED, (imp.message, errors(imp))
    p = Payment.objects.get()
    assert p.amount == Decimal("88.50")
    assert timezone.localtime(p.paid_at).strftime("%Y-%m-%d %H:%M:%S") == "2026-11-17 14:05:09"


def test_utf8_bom_and_english_headers(office_hours, world):
    data = csv_bytes([[world.case.account_number, "E1", "5", "2026-11-18"]],
                     header=["account_number", "txn_id", "amount", "paid_at"], encoding="utf-8-sig")
    assert run(world, data).created_count == 1


def test_command(office_hours, world, tmp_path, capsys):
    path = tmp_path / "pay.csv"
    path.write_bytes(csv_bytes([[world.case.account_number, "C1", "100", "2026-11-17"],
                                ["NOPE", "C2", "100", "2026-11-17"]]))
    call_command("import_payments", str(path), creditor="bank-a")
    out = capsys.readouterr().out
    assert "recorded 1" in out and "matched no case 1" in out and "NOPE" in out
    call_command("import_payments", str(path), creditor="bank-a")
    assert "no_op" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([[world.case.account_number, "C3", "x", "2026-11-17"]]))
    with pytest.raises(CommandError):
        call_command("import_payments", str(bad), creditor="bank-a")
    with pytest.raises(CommandError):
        call_command("import_payments", str(path), creditor="nope")


def test_batch_action_skips_duplicates_and_refuses_other_creditors_cases(office_hours, world):
    at = timezone.now() - timedelta(hours=1)
    lines = [PaymentLine(world.case.pk, Decimal("10"), at, "B1", 2), PaymentLine(world.case.pk, Decimal("10"), at,
                                                                                 "B1", 3)]
    result = do_record_payments(world.creditor_a, lines)
    assert len(result.recorded) == 1 and len(result.duplicates) == 1
    from qingshou.core.errors import ActionError

    with pytest.raises(ActionError):
        do_record_payments(world.creditor_a, [PaymentLine(world.case_team2.pk, Decimal("1"), at, "Z", 2)])
    with pytest.raises(ActionError):
        do_record_payments(world.creditor_a, [PaymentLine(world.case.pk, Decimal("0"), at, "Z", 2)])


@pytest.mark.parametrize("text,expected", [
    ("2026-11-17", "2026-11-17 00:00"), ("2026/11/17 09:30", "2026-11-17 09:30"), ("20261117", "2026-11-17 00:00"),
    ("2026年11月17日", "2026-11-17 00:00"), ("2026-11-17 09:30:15", "2026-11-17 09:30"), ("17/11/2026", None),
    ("2026-02-30", None), ("", None),
])
def test_parse_paid_at(settings, text, expected):
    value = parse_paid_at(text)
    assert (timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else None) == expected


def test_parse_amount_and_mapping():
    assert parse_amount("1,234.50元") == Decimal("1234.50")
    assert parse_amount("￥ 12") == Decimal("12")
    assert parse_amount("NaN") is None and parse_amount("1e") is None
    assert propose_payment_mapping(["卡号/合同号", "交易流水号", "还款金额", "还款日期", "还款时间"]) == {
        "account_number": "卡号/合同号", "txn_id": "交易流水号", "amount": "还款金额", "paid_at": "还款日期",
        "paid_time": "还款时间"}
