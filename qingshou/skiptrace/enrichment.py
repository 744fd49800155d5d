"""Enrichment files from a creditor (甲方补充资料): account number + new phones / addresses / employer.

CSV (UTF-8, GBK...), XLSX or XLS, read by portfolio.intake.readers. Each row is matched to the creditor's
case by account number; matched rows add what is new (a number already on file for the debtor is not
added twice), unmatched and invalid rows are reported with their row number. Idempotent: running the same
file again adds nothing. One transaction for the file; every addition is an audited lead with a
timeline event, like one added by hand.
"""

from __future__ import annotations

import hashlib
import re

from django.db import transaction
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.masking import mask_phone
from qingshou.portfolio.intake.readers import UnreadableFile, read_table
from qingshou.portfolio.models import Address, Case, Phone, Relation
from qingshou.skiptrace.actions import add_lead
from qingshou.skiptrace.models import EnrichmentImport, Lead
from qingshou.skiptrace.sources import check_source

# Our column -> the headers a creditor's file may use (compared without spaces, case-insensitive).
HEADERS = {
    "account": ("卡号", "账号", "合同号", "借据号", "账户", "account", "account_number"),
    "phone": ("新电话", "新手机", "新号码", "电话", "手机", "手机号", "联系电话", "phone", "phones"),
    "address": ("新地址", "地址", "住址", "家庭地址", "现住址", "address"),
    "work_address": ("单位地址", "工作地址", "work_address"),
    "employer": ("工作单位", "单位", "单位名称", "新单位", "employer"),
    "source": ("来源", "信息来源", "source"),
}
SPLIT = re.compile(r"[;；,，/、\s]+")


def _columns(headers: list[str]) -> dict[str, int]:
    norm = [re.sub(r"\s+", "", h).lower() for h in headers]
    out = {}
    for key, names in HEADERS.items():
        for i, h in enumerate(norm):
            if h in names and i not in out.values():
                out[key] = i
                break
    return out


def _sha256(file) -> str:
    digest = hashlib.sha256()
    if isinstance(file, str):
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    file.seek(0)
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


@transaction.atomic(durable=True)
def do_import_enrichment(file, *, creditor, acting_user, file_name: str = "") -> EnrichmentImport:
    """Read the file and record every new phone / address / employer. Raises ActionError if unreadable."""
    sha = _sha256(file)
    try:
        table = read_table(file)
    except UnreadableFile as exc:
        raise ActionError({"file": str(exc)}) from None
    cols = _columns(table.headers)
    if "account" not in cols or not ({"phone", "address", "work_address", "employer"} & cols.keys()):
        table.close()
        raise ActionError({"file": _("The file needs an account number column (卡号) and at least one of: "
                                     "phone (电话), address (地址), employer (工作单位).")})
    imp = EnrichmentImport.objects.create(creditor=creditor, file_name=(file_name or str(file))[-200:],
                                          sha256=sha, created_by=acting_user if getattr(acting_user, "pk", None)
                                          else None)
    errors: list[dict] = []
    bad_rows: set[int] = set()
    counts = {"total_rows": 0, "matched_rows": 0, "unmatched_rows": 0, "invalid_rows": 0, "phones_added": 0,
              "addresses_added": 0, "employers_added": 0, "duplicates": 0}

    def cell(row, key):
        i = cols.get(key)
        return row[i].strip() if i is not None and i < len(row) and row[i] else ""

    for row_no, row in table.rows():
        counts["total_rows"] += 1
        account = cell(row, "account")
        case = (Case.objects.filter(creditor=creditor, account_number=account).select_related("debtor")
                .order_by("-placement__starts_on", "-pk").first()) if account else None
        if case is None:
            counts["unmatched_rows"] += 1
            errors.append({"row": row_no, "account": account[:40],
                           "message": _("No case of this creditor has this account number.")})
            continue
        try:
            source = check_source(cell(row, "source") or "resupply")
        except ActionError as exc:
            bad_rows.add(row_no)
            errors.append({"row": row_no, "account": account[:40], "message": exc.messages[0]})
            continue
        counts["matched_rows"] += 1
        items = [("phone", n) for n in SPLIT.split(cell(row, "phone")) if n]
        if cell(row, "address"):
            items.append(("address", cell(row, "address")))
        if cell(row, "work_address"):
            items.append(("work_address", cell(row, "work_address")))
        if cell(row, "employer"):
            items.append(("employer", cell(row, "employer")))
        for kind, value in items:
            try:
                with transaction.atomic():  # a savepoint: a refused item leaves the rest of the file alone
                    if kind == "phone":
                        add_lead(case, kind=Lead.Kind.PHONE, source=source, number=value, acting_user=acting_user,
                                 enrichment=imp)
                        counts["phones_added"] += 1
                    elif kind in ("address", "work_address"):
                        add_lead(case, kind=Lead.Kind.ADDRESS, source=source, address_text=value,
                                 address_kind=Address.Kind.WORK if kind == "work_address" else Address.Kind.HOME,
                                 acting_user=acting_user, enrichment=imp)
                        counts["addresses_added"] += 1
                    else:
                        add_lead(case, kind=Lead.Kind.EMPLOYER, source=source, employer=value,
                                 acting_user=acting_user, enrichment=imp)
                        counts["employers_added"] += 1
            except ActionError as exc:
                if _is_duplicate(case, kind, value):
                    counts["duplicates"] += 1
                    continue
                bad_rows.add(row_no)
                shown = mask_phone(value) if kind == "phone" else value[:60]
                errors.append({"row": row_no, "account": account[:40], "message": f"{shown}: {exc.messages[0]}"})
    counts["invalid_rows"] = len(bad_rows)
    for key, value in counts.items():
        setattr(imp, key, value)
    imp.errors = errors[:1000]
    imp.save()
    audit("skiptrace.import", actor=acting_user, obj=imp, creditor=creditor.code, file=imp.file_name, sha256=sha,
          **counts)
    return imp


def _is_duplicate(case, kind, value) -> bool:
    from qingshou.portfolio.intake.validation import parse_phone

    debtor_id = case.debtor_id
    if kind == "phone":
        try:
            number = parse_phone(value)
        except ValueError:
            return False
        return Phone.objects.filter(party__debtor_id=debtor_id, party__relation=Relation.SELF,
                                    number=number).exists()
    if kind in ("address", "work_address"):
        text = " ".join(value.split())[:300]
        return Address.objects.filter(party__debtor_id=debtor_id, text=text).exists()
    text = " ".join(value.split())[:200]
    return case.debtor.employer == text or Lead.objects.filter(case__debtor_id=debtor_id, kind="employer",
                                                               employer=text).exists()

