"""Recall (退案) services: manual recall from a creditor's list file, and the recall file for the creditor.

The state change itself is `portfolio.actions.do_recall_cases`; this module reads files, finds the
cases and writes the XLSX the creditor receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Count, DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.errors import ActionError
from qingshou.portfolio.accounts import cases_by_account, find_account_column, normalise_account
from qingshou.portfolio.actions import RECALLABLE, do_recall_cases
from qingshou.portfolio.models import Assignment, Case, CaseStatus, CaseStatusChange

RECALL_CHUNK = 500


@dataclass
class RecallReport:
    """What a recall list did: accounts recalled, not found among the creditor's cases, or not recallable."""

    total: int = 0
    recalled: list[str] = field(default_factory=list)
    not_found: list[tuple[int, str]] = field(default_factory=list)       # (row, account)
    not_recallable: list[tuple[int, str, str]] = field(default_factory=list)  # (row, account, status)
    case_ids: list[int] = field(default_factory=list)


def read_account_list(file, *, encoding=None) -> list[tuple[int, str]]:
    """(row, account) from a recall list: the column headed 卡号/合同号/账号/…, else the first column.

    A file whose first line is not a known header is read as a bare list: that line is an account too.
    """
    from qingshou.portfolio.intake import read_table

    table = read_table(file, encoding=encoding)
    col = find_account_column(table.headers)
    out: list[tuple[int, str]] = []
    if col is None:
        col = 0
        first = normalise_account(table.headers[0]) if table.headers else ""
        if first:
            out.append((1, first))
    for row, cells in table.rows():
        account = normalise_account(cells[col]) if col < len(cells) else ""
        if account:
            out.append((row, account))
    return out


def recall_accounts(accounts: list[tuple[int, str]], *, creditor, acting_user, reason: str) -> RecallReport:
    """Recall the creditor's cases with these account numbers (latest placement of each account)."""
    if len((reason or "").strip()) < 2:
        raise ActionError({"reason": _("Please give a reason.")})
    report = RecallReport(total=len(accounts))
    wanted = [a for _row, a in accounts]
    recallable = cases_by_account(creditor, wanted, statuses=RECALLABLE)
    anywhere = cases_by_account(creditor, [a for a in wanted if a not in recallable])
    status_of = dict(Case.objects.filter(pk__in=anywhere.values()).values_list("pk", "status"))
    seen: set[str] = set()
    ids: list[int] = []
    for row, account in accounts:
        if account in seen:
            continue
        seen.add(account)
        if account in recallable:
            ids.append(recallable[account])
            report.recalled.append(account)
        elif account in anywhere:
            report.not_recallable.append((row, account, status_of.get(anywhere[account], "")))
        else:
            report.not_found.append((row, account))
    for start in range(0, len(ids), RECALL_CHUNK):
        report.case_ids += do_recall_cases(ids[start:start + RECALL_CHUNK], acting_user=acting_user, reason=reason)
    return report


def recall_from_file(file, *, creditor, acting_user, reason: str, encoding=None) -> RecallReport:
    """Manual recall: the creditor sent a list of accounts to hand back."""
    return recall_accounts(read_account_list(file, encoding=encoding), creditor=creditor,
                           acting_user=acting_user, reason=reason)


# --- the recall file (XLSX) for the creditor -------------------------------------------------------


def recalled_cases(creditor, *, placement=None, since: date | None = None, until: date | None = None) -> QuerySet:
    """The creditor's recalled cases, optionally of one placement and recalled within [since, until]."""
    qs = Case.objects.filter(creditor=creditor, status=CaseStatus.RECALLED)
    changes = CaseStatusChange.objects.filter(to_status=CaseStatus.RECALLED)
    tz = timezone.get_current_timezone()
    if since:
        changes = changes.filter(at__gte=datetime.combine(since, time(0), tzinfo=tz))
    if until:
        changes = changes.filter(at__lt=datetime.combine(until, time(0), tzinfo=tz) + timezone.timedelta(days=1))
    if since or until:
        qs = qs.filter(pk__in=changes.values("case_id"))
    if placement is not None:
        qs = qs.filter(placement=placement)
    return qs


def _count(qs) -> Coalesce:
    return Coalesce(Subquery(qs.order_by().values("case").annotate(n=Count("pk")).values("n")[:1],
                             output_field=IntegerField()), Value(0))


def with_work_summary(qs: QuerySet) -> QuerySet:
    """Annotate each case with what was done on it, without a query per case."""
    from qingshou.contact.models import ContactAttempt
    from qingshou.payments.models import Payment, Promise

    contacts = ContactAttempt.objects.filter(case=OuterRef("pk"))
    promises = Promise.objects.filter(case=OuterRef("pk"))
    last_contact = contacts.order_by("-started_at", "-pk")
    recall_change = CaseStatusChange.objects.filter(case=OuterRef("pk"), to_status=CaseStatus.RECALLED).order_by(
        "-at", "-pk")
    last_holder = Assignment.objects.filter(case=OuterRef("pk")).order_by("-at", "-pk")
    money = DecimalField(max_digits=14, decimal_places=2)
    return qs.select_related("debtor", "placement", "assigned_to").annotate(
        n_contacts=_count(contacts),
        n_right_party=_count(contacts.filter(outcome__right_party=True)),
        last_outcome=Subquery(last_contact.values("outcome__label_zh")[:1]),
        last_outcome_en=Subquery(last_contact.values("outcome__label_en")[:1]),
        last_notes=Subquery(last_contact.values("notes")[:1]),
        n_promises=_count(promises),
        n_kept=_count(promises.filter(status="kept")),
        n_broken=_count(promises.filter(status="broken")),
        paid_total=Coalesce(Subquery(Payment.objects.filter(case=OuterRef("pk")).order_by().values("case")
                                     .annotate(s=Sum("amount")).values("s")[:1], output_field=money),
                            Value(0, output_field=money)),
        status_before_recall=Subquery(recall_change.values("from_status")[:1]),
        recalled_at=Subquery(recall_change.values("at")[:1]),
        last_to_id=Subquery(last_holder.values("to_user")[:1]),
        last_from_id=Subquery(last_holder.values("from_user")[:1]),
    ).order_by("placement__starts_on", "account_number", "pk")


def recall_file_columns() -> list[str]:
    return [
        _("Account number"), _("Debtor"), _("Product"), _("Placement"), _("Placed on"), _("Placement ends"),
        _("Status"), _("Status before recall"), _("Recalled at"), _("Last collector"),
        _("Balance when placed"), _("Paid"), _("Balance"), _("DPD"), _("Bucket"),
        _("Contact attempts"), _("Right-party contacts"), _("Last contact"), _("Last outcome"),
        _("Promises"), _("Promises kept"), _("Promises broken"), _("Last note"),
    ]


def _status_label(value) -> str:
    try:
        return str(CaseStatus(value).label)
    except ValueError:
        return value or ""


def _local(dt):
    return timezone.localtime(dt).replace(tzinfo=None) if dt else None


def recall_file_rows(qs: QuerySet, *, english: bool = False):
    from qingshou.org.models import User

    labels = {u.pk: u.label for u in User.objects.filter(role__in=["collector", "team_leader"])}
    for c in with_work_summary(qs).iterator(chunk_size=2000):
        holder = c.last_to_id or c.last_from_id
        yield [
            c.account_number, c.debtor.name, c.product, c.placement.code, c.placement.starts_on,
            c.placement.ends_on, _status_label(c.status), _status_label(c.status_before_recall or ""),
            _local(c.recalled_at), labels.get(holder, "") if holder else "",
            c.total_due + c.paid_total, c.paid_total, c.total_due, c.dpd, c.bucket,
            c.n_contacts, c.n_right_party, _local(c.last_contact_at),
            (c.last_outcome_en if english else c.last_outcome) or "",
            c.n_promises, c.n_kept, c.n_broken, (c.last_notes or "")[:500],
        ]


def write_recall_file(qs: QuerySet, out, *, english: bool = False) -> int:
    """Write the recall file (XLSX, streamed) for these cases to `out` (a path or binary file). Returns rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Recalled cases"))
    widths = [22, 12, 12, 14, 12, 12, 10, 12, 18, 12, 14, 14, 14, 8, 8, 10, 10, 18, 14, 8, 8, 8, 40]
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = w
    bold = Font(bold=True)
    header = []
    for title in recall_file_columns():
        cell = WriteOnlyCell(ws, value=title)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    n = 0
    money_cols = {10, 11, 12}
    date_cols = {4, 5}
    dt_cols = {8, 17}
    for row in recall_file_rows(qs, english=english):
        cells = []
        for i, value in enumerate(row):
            cell = WriteOnlyCell(ws, value=value)
            if i in money_cols:
                cell.number_format = "#,##0.00"
            elif i in date_cols:
                cell.number_format = "yyyy-mm-dd"
            elif i in dt_cols:
                cell.number_format = "yyyy-mm-dd hh:mm"
            cells.append(cell)
        ws.append(cells)
        n += 1
    wb.save(out)
    return n
