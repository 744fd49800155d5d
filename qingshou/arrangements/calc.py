"""The plan calculator and the limit checks: pure functions over a balance, the proposal and the terms.

Used by the case page's calculator (before anything is proposed) and by the actions (which refuse a
proposal outside the limits, or flag a debtor's own request so that approvers see why).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext as _

from qingshou.arrangements.models import FloorBasis, Treatment

CENT = Decimal("0.01")


def _m(v) -> str:
    return f"{v:,.2f}"


def add_months(day: date, months: int) -> date:
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> int:
    """Whole months from start to end, rounding a part month up."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months + (1 if end.day > start.day else 0)


@dataclass(frozen=True)
class Balance:
    principal: Decimal
    interest: Decimal
    late_fees: Decimal
    other_fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.late_fees + self.other_fees

    @classmethod
    def of(cls, case) -> Balance:
        return cls(case.principal, case.interest, case.late_fees, case.other_fees)


@dataclass(frozen=True)
class Row:
    seq: int
    due_date: date
    amount: Decimal
    interest: Decimal = Decimal("0.00")


@dataclass
class Schedule:
    rows: list[Row]
    base: Decimal                     # what the plan repays before any interest that keeps accruing
    total: Decimal                    # the sum of the instalments
    waived: Decimal                   # interest and fees written off when the plan completes
    reasons: list[tuple[str, str]] = field(default_factory=list)   # (code, message) of every limit broken

    @property
    def within_limits(self) -> bool:
        return not self.reasons

    @property
    def last_due(self) -> date | None:
        return self.rows[-1].due_date if self.rows else None


def plan_base(balance: Balance, treatment: str) -> tuple[Decimal, Decimal]:
    """(what the plan repays, what is waived on completion) under the interest/fee treatment."""
    if treatment == Treatment.WAIVED:
        return balance.principal, balance.total - balance.principal
    return balance.total, Decimal("0.00")


def schedule(balance: Balance, *, instalments: int, first_payment: Decimal, start_date: date, terms,
             today: date) -> Schedule:
    """The instalments: the first payment on start_date, the rest split evenly month by month (the last one
    takes the rounding). When interest continues, each later instalment adds a month's interest on what is
    still owed. Every limit of the terms that the proposal breaks is listed in `reasons`."""
    reasons: list[tuple[str, str]] = []
    treatment = terms.plan_treatment
    base, waived = plan_base(balance, treatment)
    n = int(instalments or 0)
    first = Decimal(first_payment or 0).quantize(CENT)
    if n < 1:
        reasons.append(("instalments", _("A plan needs at least one instalment.")))
        return Schedule([], base, Decimal("0.00"), waived, reasons)
    if n > terms.plan_max_instalments:
        reasons.append(("instalments", _("At most %(n)s instalments are allowed.") % {"n": terms.plan_max_instalments}))
    if first <= 0:
        reasons.append(("first_payment", _("Enter the first payment.")))
    if n == 1:
        first = base
    elif first >= base:
        reasons.append(("first_payment", _("The first payment must be less than the plan total (%(t)s).")
                        % {"t": _m(base)}))
    min_first = (balance.total * terms.plan_min_first_share).quantize(CENT)
    if n > 1 and first < min_first:
        reasons.append(("first_payment", _("The first payment must be at least %(m)s (%(p)s%% of the balance).")
                        % {"m": _m(min_first), "p": (terms.plan_min_first_share * 100).normalize()}))
    if start_date < today:
        reasons.append(("start_date", _("The first due date cannot be in the past.")))
    rows: list[Row] = [Row(1, start_date, first)]
    rest = base - first
    if n > 1 and rest > 0:
        each = (rest / (n - 1)).quantize(CENT, rounding=ROUND_DOWN)
        owed = rest
        rate = terms.plan_monthly_rate if treatment == Treatment.CONTINUE else Decimal("0")
        for i in range(2, n + 1):
            part = each if i < n else owed
            interest = (owed * rate).quantize(CENT)
            rows.append(Row(i, add_months(start_date, i - 1), part + interest, interest))
            owed -= part
    last = rows[-1].due_date
    if months_between(today, last) > terms.plan_max_months:
        reasons.append(("start_date", _("The plan may run at most %(m)s months; this one ends on %(d)s.")
                        % {"m": terms.plan_max_months, "d": last.isoformat()}))
    total = sum((r.amount for r in rows), Decimal("0.00"))
    return Schedule(rows, base, total, waived, reasons)


def offer_limits(balance: Balance, *, kind: str, interest_waived: Decimal, fees_waived: Decimal,
                 settle_amount: Decimal | None, terms) -> tuple[Decimal, list[tuple[str, str]]]:
    """(the amount the debtor pays, the reasons the offer breaks the creditor's limits)."""
    reasons: list[tuple[str, str]] = []
    fees = balance.late_fees + balance.other_fees
    if kind == "waiver":
        iw, fw = Decimal(interest_waived or 0), Decimal(fees_waived or 0)
        if iw < 0 or fw < 0 or iw + fw <= 0:
            reasons.append(("interest_waived", _("Enter the interest or fees to waive.")))
        max_i = (balance.interest * terms.waiver_max_interest_share).quantize(CENT)
        max_f = (fees * terms.waiver_max_fee_share).quantize(CENT)
        if iw > max_i:
            reasons.append(("interest_waived", _("At most %(m)s of interest may be waived.") % {"m": _m(max_i)}))
        if fw > max_f:
            reasons.append(("fees_waived", _("At most %(m)s of fees may be waived.") % {"m": _m(max_f)}))
        return (balance.total - iw - fw).quantize(CENT), reasons
    amount = Decimal(settle_amount or 0).quantize(CENT)
    basis = balance.principal if terms.settlement_floor_basis == FloorBasis.PRINCIPAL else balance.total
    floor = (basis * terms.settlement_floor_share).quantize(CENT)
    if amount <= 0:
        reasons.append(("settle_amount", _("Enter the settlement amount.")))
    elif amount < floor:
        reasons.append(("settle_amount", _("The settlement must be at least %(m)s.") % {"m": _m(floor)}))
    elif amount >= balance.total:
        reasons.append(("settle_amount", _("A settlement must be less than the balance (%(t)s).")
                        % {"t": _m(balance.total)}))
    return amount, reasons
