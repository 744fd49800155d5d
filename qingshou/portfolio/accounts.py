"""Finding a creditor's cases by the account numbers in its files (payment files, recall lists)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from qingshou.portfolio.models import Case

# Header names (lower-cased, stripped) that hold the account number in a creditor's file.
ACCOUNT_HEADERS = ("卡号", "合同号", "卡号/合同号", "卡号／合同号", "账号", "帐号", "账户号", "借据号", "合同编号",
                   "account", "account_number", "account no", "account no.", "card number", "contract")

_SPACES = re.compile(r"\s+")
_FLOAT_INT = re.compile(r"^(\d+)\.0+$")
CHUNK = 500


def normalise_account(value) -> str:
    """An account number as typed in a file: no spaces, no Excel text-marking apostrophe, no '.0'."""
    text = _SPACES.sub("", str(value or "")).lstrip("'")
    m = _FLOAT_INT.match(text)
    return m.group(1) if m else text


def find_account_column(headers: list[str]) -> int | None:
    """Index of the account-number column, by header name; None when no header names one."""
    wanted = {h.lower() for h in ACCOUNT_HEADERS}
    for i, h in enumerate(headers):
        if normalise_header(h) in wanted:
            return i
    return None


def normalise_header(header) -> str:
    return _SPACES.sub("", str(header or "")).strip().lower().replace("（", "(").replace("）", ")")


def cases_by_account(creditor, accounts: Iterable[str], *, statuses=None) -> dict[str, int]:
    """{account number: case id} within the creditor's cases; the most recent placement wins.

    An account placed several times (re-placement in a new batch) names the case of the latest
    placement. With `statuses`, only cases in those statuses are considered.
    """
    wanted = sorted({a for a in accounts if a})
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        qs = Case.objects.filter(creditor=creditor, account_number__in=wanted[start:start + CHUNK])
        if statuses is not None:
            qs = qs.filter(status__in=list(statuses))
        rows = qs.order_by("account_number", "-placement__starts_on", "-placement_id", "-pk").values_list(
            "account_number", "pk")
        for account, pk in rows:
            found.setdefault(account, pk)
    return found
