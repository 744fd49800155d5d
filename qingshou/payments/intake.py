"""Repayment files (回款文件): read a creditor's daily file and record its payments.

A file has one payment per row: the account number (卡号/合同号), the creditor's transaction id
(交易流水号), the amount (还款金额) and the date or time paid (还款日期/还款时间). The creditor's own
header names are recognised through synonyms, or given as a mapping.

Rules:
* Idempotent on the creditor's transaction id: a transaction already recorded (this file run twice,
  or yesterday's file repeated in today's) is counted as "already recorded" and changes nothing; an id
  recorded before with a different account or amount is an error of that row. A file whose payments
  were all recorded before is a no-op that says so.
* Matched to the creditor's cases by account number; an account placed several times pays into the case
  of its most recent placement. Rows whose account matches no case are reported (they never block the
  file: the creditor's file lists every repayment, not only those of accounts placed with us).
* Rows with bad values (missing field, bad amount or date, a transaction id twice in the file with
  different contents) reject the whole file unless `skip_invalid`; with it the good rows are recorded.
* Recording goes through `payments.actions.do_record_payments` (the batch form of do_record_payment):
  waterfall allocation, promises kept when covered, cases paid in full settled, a timeline event and
  an audit row per payment. Chunks of CHUNK rows, one transaction each; the Import's progress moves
  after each chunk. A run killed half-way is finished by running the same file again.
* Every problem is an ImportRowError row (row, column, value, reason in English and Chinese), and an
  XLSX error report is attached to the Import.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from qingshou.core.audit import audit
from qingshou.payments.actions import PaymentLine, do_record_payments
from qingshou.payments.models import Payment
from qingshou.portfolio.accounts import cases_by_account, normalise_account, normalise_header

logger = logging.getLogger("qingshou.intake")

CHUNK = 500

# Our fields of a repayment file and the header names creditors use for them (compared without
# spaces, case-insensitive; full-width brackets count as ASCII ones).
PAYMENT_FIELDS: dict[str, dict] = {
    "account_number": {
        "label": gettext_noop("Account number"),
        "required": True,
        "synonyms": ["卡号", "合同号", "卡号/合同号", "卡号／合同号", "账号", "帐号", "账户号", "借据号", "合同编号",
                     "卡号(合同号)", "account", "account_number", "accountnumber", "accountno", "cardnumber"],
    },
    "txn_id": {
        "label": gettext_noop("Transaction id"),
        "required": True,
        "synonyms": ["交易流水号", "流水号", "交易号", "交易编号", "还款流水号", "入账流水号", "交易流水",
                     "txn_id", "txnid", "transactionid", "transaction_id", "reference"],
    },
    "amount": {
        "label": gettext_noop("Amount paid"),
        "required": True,
        "synonyms": ["还款金额", "回款金额", "入账金额", "交易金额", "金额", "实还金额", "amount", "paidamount"],
    },
    "paid_at": {
        "label": gettext_noop("Date paid"),
        "required": True,
        "synonyms": ["还款日期", "还款时间", "回款日期", "入账日期", "入账时间", "交易日期", "交易时间", "还款日",
                     "paid_at", "paidat", "paymentdate", "date"],
    },
    "paid_time": {
        "label": gettext_noop("Time paid"),
        "required": False,
        "synonyms": ["还款时刻", "交易时刻", "time"],
    },
}


def propose_payment_mapping(headers: list[str]) -> dict[str, str]:
    """{our_field: header} from the synonyms. With both 还款日期 and 还款时间, the second is the time."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    normalised = [(h, normalise_header(h)) for h in headers]
    for name, spec in PAYMENT_FIELDS.items():
        for syn in spec["synonyms"]:
            key = normalise_header(syn)
            hit = next((h for h, n in normalised if n == key and h not in used), None)
            if hit is not None:
                mapping[name] = hit
                used.add(hit)
                break
    # A separate time column next to a date column: 还款日期 + 还款时间 / 交易日期 + 交易时间.
    if "paid_time" not in mapping and "paid_at" in mapping:
        for h, n in normalised:
            if h not in used and n.endswith("时间") and mapping["paid_at"].strip().endswith("日期"):
                mapping["paid_time"] = h
                break
    return mapping


# --- row parsing -----------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str
    value: str
    code: str
    reason: str          # English msgid, %-formatted with params
    params: dict = field(default_factory=dict)

    def text(self, language: str) -> str:
        with translation.override(language):
            return _(self.reason) % self.params if self.params else _(self.reason)


@dataclass
class ParsedRow:
    row: int
    account: str
    txn_id: str
    amount: Decimal
    paid_at: datetime


_AMOUNT_JUNK = re.compile(r"[,\s¥￥元，]")
_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}(?:\.\d+)?))?秒?)?$"
)
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\s*(\d{2}):?(\d{2}):?(\d{2})?)?$")
_TIME_RE = re.compile(r"^(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2})(?:\.\d+)?)?秒?$")


def parse_amount(text: str) -> Decimal | None:
    raw = _AMOUNT_JUNK.sub("", text or "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return value


def parse_paid_at(text: str, time_text: str = "") -> datetime | None:
    """A local date or date-time as creditors write them; None when it is not one."""
    text = (text or "").strip()
    m = _DATE_RE.match(text) or _COMPACT_RE.match(text)
    if not m:
        return None
    y, mo, d, hh, mm, ss = m.groups()
    try:
        day = date(int(y), int(mo), int(d))
        if hh is None and time_text.strip():
            t = _TIME_RE.match(time_text.strip())
            if not t:
                return None
            hh, mm, ss = t.groups()
        at = time(int(hh or 0), int(mm or 0), int(float(ss or 0)))
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, at))


def parse_rows(table, mapping: dict[str, str], *, today: date | None = None):
    """(parsed rows, errors) for every row of the table. Row numbers are the file's (header = 1)."""
    today = today or timezone.localdate()
    index = {f: table.headers.index(h) for f, h in mapping.items() if h in table.headers}
    header_of = {f: mapping[f] for f in index}
    parsed: list[ParsedRow] = []
    errors: list[RowError] = []

    def cell(cells, name):
        i = index.get(name)
        return (cells[i] if i is not None and i < len(cells) else "").strip()

    for row, cells in table.rows():
        if not any((c or "").strip() for c in cells):
            continue  # blank line
        row_errors: list[RowError] = []
        account = normalise_account(cell(cells, "account_number"))
        txn = cell(cells, "txn_id")
        amount_text = cell(cells, "amount")
        date_text = cell(cells, "paid_at")
        if not account:
            row_errors.append(RowError(row, header_of["account_number"], "", "required",
                                       gettext_noop("Required value missing.")))
        if not txn:
            row_errors.append(RowError(row, header_of["txn_id"], "", "required",
                                       gettext_noop("Required value missing.")))
        elif len(txn) > 64:
            row_errors.append(RowError(row, header_of["txn_id"], txn[:60] + "…", "too_long",
                                       gettext_noop("Longer than %(n)s characters."), {"n": 64}))
        amount = parse_amount(amount_text)
        if not amount_text:
            row_errors.append(RowError(row, header_of["amount"], "", "required",
                                       gettext_noop("Required value missing.")))
        elif amount is None:
            row_errors.append(RowError(row, header_of["amount"], amount_text[:60], "amount",
                                       gettext_noop("Not an amount.")))
        elif amount <= 0:
            row_errors.append(RowError(row, header_of["amount"], amount_text[:60], "amount",
                                       gettext_noop("A payment must be a positive amount.")))
        elif amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e12"):
            row_errors.append(RowError(row, header_of["amount"], amount_text[:60], "amount",
                                       gettext_noop("Not an amount in yuan and fen.")))
        paid_at = parse_paid_at(date_text, cell(cells, "paid_time"))
        if not date_text:
            row_errors.append(RowError(row, header_of["paid_at"], "", "required",
                                       gettext_noop("Required value missing.")))
        elif paid_at is None:
            row_errors.append(RowError(row, header_of["paid_at"], date_text[:60], "date",
                                       gettext_noop("Not a date (use YYYY-MM-DD).")))
        elif timezone.localdate(paid_at) > today:
            row_errors.append(RowError(row, header_of["paid_at"], date_text[:60], "date",
                                       gettext_noop("The date is in the future.")))
        elif paid_at.year < 2000:
            row_errors.append(RowError(row, header_of["paid_at"], date_text[:60], "date",
                                       gettext_noop("The date is too far in the past.")))
        if row_errors:
            errors.extend(row_errors)
        else:
            parsed.append(ParsedRow(row, account, txn, amount.quantize(Decimal("0.01")), paid_at))
    return parsed, errors


# --- the import ------------------------------------------------------------------------------------


def _import_models():
    from qingshou.portfolio.models import Import, ImportKind, ImportRowError

    return Import, ImportKind, ImportRowError


def _hash_and_size(fh) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fh.seek(0)
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return digest.hexdigest(), size


def create_payment_import(file, *, creditor, acting_user=None, dry_run: bool = False, skip_invalid: bool = False,
                          encoding: str | None = None, mapping: dict | None = None, file_name: str | None = None):
    """Store a repayment file and create its pending Import (kind=payment). Does not import: see
    `run_payment_import` (the CLI calls it inline, the upload page through a task)."""
    Import, ImportKind, _err = _import_models()
    if isinstance(file, str | Path):
        path = Path(file)
        fh = path.open("rb")
        name = file_name or path.name
    else:
        fh = file
        name = file_name or Path(getattr(file, "name", "") or "payments.csv").name
    try:
        sha, size = _hash_and_size(fh)
        imp = Import(kind=ImportKind.PAYMENT, creditor=creditor, file_name=name[:255], sha256=sha, size=size,
                     dry_run=dry_run, skip_invalid=skip_invalid, created_by=acting_user,
                     mapping=mapping or {}, options={"encoding": encoding} if encoding else {})
        imp.file.save(name, File(fh), save=False)
    finally:
        if isinstance(file, str | Path):
            fh.close()
    with transaction.atomic(durable=True):
        imp.save()
        audit("import.create", actor=acting_user, obj=imp, kind="payment", file=imp.file_name, sha256=sha,
              dry_run=dry_run, skip_invalid=skip_invalid)
    return imp


def _claim(imp_id: int):
    Import, _kind, _err = _import_models()
    n = Import.objects.filter(pk=imp_id, status=Import.Status.PENDING).update(
        status=Import.Status.RUNNING, started_at=timezone.now())
    return Import.objects.get(pk=imp_id) if n == 1 else None


def _finish(imp, status, message, errors: list[RowError] | None = None, **counts):
    Import, _kind, ImportRowError = _import_models()
    errors = errors or []
    if errors:
        ImportRowError.objects.bulk_create(
            [ImportRowError(imp=imp, row=e.row, column=e.column[:100], value=e.value[:200], code=e.code,
                            reason=e.text("en")[:300], reason_zh=e.text("zh-hans")[:300]) for e in errors],
            batch_size=1000)
        imp.error_report.save(f"payment-errors-{imp.pk}.xlsx", ContentFile(error_report_xlsx(imp)), save=False)
    for k, v in counts.items():
        setattr(imp, k, v)
    imp.status = status
    imp.message = message
    imp.finished_at = timezone.now()
    imp.save()
    audit("import.finish", actor=imp.created_by, obj=imp, kind="payment", status=status,
          invalid=imp.invalid_rows, created=imp.created_count)
    return imp


def error_report_xlsx(imp) -> bytes:
    """The error report: row, column, value, reason in Chinese (and English), as XLSX bytes."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误报告")
    for col, width in zip("ABCDE", (8, 16, 24, 40, 40), strict=True):
        ws.column_dimensions[col].width = width
    bold = Font(bold=True)
    header = []
    for title in ("行号", "列", "值", "原因", "Reason"):
        c = WriteOnlyCell(ws, value=title)
        c.font = bold
        header.append(c)
    ws.append(header)
    for e in imp.row_errors.order_by("row", "id").iterator():
        ws.append([e.row, e.column, e.value, e.reason_zh, e.reason])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run_payment_import(import_id: int, *, progress: Callable[[int, int], None] | None = None):
    """Run a pending payment Import to its end. Safe to call twice: only the caller that moves it from
    pending to running does the work."""
    from qingshou.portfolio.intake import read_table

    Import, _kind, _err = _import_models()
    imp = _claim(import_id)
    if imp is None:
        return Import.objects.get(pk=import_id)
    try:
        with imp.file.open("rb") as fh:
            try:
                table = read_table(fh, encoding=(imp.options or {}).get("encoding") or None)
            except ValueError as exc:
                return _finish(imp, Import.Status.FAILED, str(exc))
            mapping = dict(imp.mapping) if imp.mapping else propose_payment_mapping(table.headers)
            missing = [f for f, spec in PAYMENT_FIELDS.items() if spec["required"] and f not in mapping]
            if missing:
                errs = [RowError(1, "", "", "missing_column",
                                 gettext_noop("The file has no column for %(field)s."),
                                 {"field": _LazyLabel(PAYMENT_FIELDS[f]["label"])}) for f in missing]
                return _finish(imp, Import.Status.REJECTED, _("The file lacks required columns."), errs,
                               mapping=mapping)
            imp.mapping = mapping
            imp.save(update_fields=["mapping"])
            parsed, errors = parse_rows(table, mapping)
        return _load(imp, parsed, errors, progress)
    except Exception as exc:
        logger.exception("payment import %s failed", import_id)
        imp.refresh_from_db()
        return _finish(imp, Import.Status.FAILED, _("The import failed: %(error)s. Payments recorded before the "
                                                    "failure stay recorded; run the same file again to record "
                                                    "the rest.") % {"error": f"{type(exc).__name__}: {exc}"[:300]})


class _LazyLabel:
    """A field label that translates when %-formatted inside a translation.override block."""

    def __init__(self, msgid: str):
        self.msgid = msgid

    def __str__(self):
        return _(self.msgid)


def _load(imp, parsed: list[ParsedRow], errors: list[RowError], progress):
    Import, _kind, _err = _import_models()
    creditor = imp.creditor
    total = len(parsed) + len({e.row for e in errors})

    # Transaction ids repeated within the file: the same contents are one payment, different ones an error.
    first_seen: dict[str, ParsedRow] = {}
    unique: list[ParsedRow] = []
    repeated = 0
    for p in parsed:
        seen = first_seen.get(p.txn_id)
        if seen is None:
            first_seen[p.txn_id] = p
            unique.append(p)
        elif (seen.account, seen.amount, seen.paid_at) == (p.account, p.amount, p.paid_at):
            repeated += 1
        else:
            errors.append(RowError(p.row, imp.mapping.get("txn_id", ""), p.txn_id, "duplicate_txn",
                                   gettext_noop("This transaction id is on row %(row)s with other values."),
                                   {"row": seen.row}))
    invalid_rows = {e.row for e in errors}

    # Already recorded for this creditor: the same payment again is skipped; different values are an error.
    recorded = {
        txn: (account, amount)
        for txn, account, amount in Payment.objects.filter(
            creditor=creditor, creditor_txn_id__in=[p.txn_id for p in unique]).values_list(
            "creditor_txn_id", "case__account_number", "amount")
    }
    matches = cases_by_account(creditor, [p.account for p in unique])
    lines: list[PaymentLine] = []
    already = 0
    unmatched: list[RowError] = []
    for p in unique:
        if p.row in invalid_rows:
            continue
        if p.txn_id in recorded:
            if recorded[p.txn_id] == (p.account, p.amount):
                already += 1
            else:
                errors.append(RowError(p.row, imp.mapping.get("txn_id", ""), p.txn_id, "txn_conflict",
                                       gettext_noop("This transaction id was recorded before with another "
                                                    "account or amount.")))
            continue
        case_id = matches.get(p.account)
        if case_id is None:
            unmatched.append(RowError(p.row, imp.mapping.get("account_number", ""), p.account, "unmatched",
                                      gettext_noop("No case of this creditor has this account number.")))
            continue
        lines.append(PaymentLine(case_id=case_id, amount=p.amount, paid_at=p.paid_at, txn_id=p.txn_id, row=p.row))
    invalid_rows = {e.row for e in errors}
    lines = [ln for ln in lines if ln.row not in invalid_rows]
    counts = {"total_rows": total, "invalid_rows": len(invalid_rows),
              "valid_rows": total - len(invalid_rows)}
    summary = {"already_recorded": already, "repeated_in_file": repeated, "unmatched": len(unmatched),
               "to_record": len(lines), "amount_to_record": str(sum((ln.amount for ln in lines), Decimal("0")))}
    all_errors = sorted(errors + unmatched, key=lambda e: e.row)
    imp.options = {**(imp.options or {}), **summary}

    if invalid_rows and not imp.skip_invalid:
        return _finish(imp, Import.Status.REJECTED, _(
            "%(n)s rows have errors: nothing was recorded. Correct the file, or import it skipping the invalid "
            "rows.") % {"n": len(invalid_rows)}, all_errors, **counts)
    if imp.dry_run:
        return _finish(imp, Import.Status.SUCCEEDED, _(
            "Dry run: %(n)s payments (%(amount)s yuan) would be recorded; nothing was recorded.") % {
            "n": len(lines), "amount": summary["amount_to_record"]}, all_errors, **counts)
    if not lines:
        if already:
            return _finish(imp, Import.Status.NO_OP, _(
                "All %(n)s payments of this file were already recorded: nothing changed.") % {"n": already},
                all_errors, **counts)
        return _finish(imp, Import.Status.SUCCEEDED, _("No payment to record."), all_errors, **counts)

    imp.total_rows = total
    imp.progress = 0
    imp.save(update_fields=["total_rows", "progress", "options"])
    done = 0
    created = 0
    settled: list[int] = []
    recorded_amount = Decimal("0.00")
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start:start + CHUNK]
        result = do_record_payments(creditor, chunk, acting_user=imp.created_by)
        created += len(result.recorded)
        already += len(result.duplicates)
        settled += result.settled_case_ids
        recorded_amount += sum((ln.amount for ln, _p in result.recorded), Decimal("0.00"))
        done += len(chunk)
        Import.objects.filter(pk=imp.pk).update(progress=done, created_count=created)
        if progress:
            progress(done, len(lines))
    imp.options = {**imp.options, "already_recorded": already, "settled_cases": len(settled),
                   "amount_recorded": str(recorded_amount)}
    message = _("%(n)s payments recorded (%(amount)s yuan); %(settled)s cases settled; %(already)s already "
                "recorded; %(unmatched)s rows matched no case.") % {
        "n": created, "amount": recorded_amount, "settled": len(settled), "already": already,
        "unmatched": len(unmatched)}
    return _finish(imp, Import.Status.SUCCEEDED, message, all_errors, created_count=created,
                   updated_count=len({ln.case_id for ln in lines}), progress=done, **counts)
