"""The error report of an import: ImportRowError rows and a downloadable XLSX (row, column, masked value, reason)."""

from __future__ import annotations

import tempfile

from django.core.files import File
from django.utils import translation

HEADERS_ZH = ("行号", "列", "值（已脱敏）", "错误类型", "原因")
CODE_ZH = {
    "required": "必填项缺失", "too_long": "过长", "id_number": "证件号码错误", "phone": "电话号码错误",
    "amount": "金额错误", "total_mismatch": "金额不平", "date": "日期错误", "dpd": "逾期天数错误",
    "bucket": "账龄错误", "duplicate_account": "重复账号", "relation": "关系错误", "file": "文件错误",
}


def render_reasons(errors) -> list[tuple[str, str]]:
    """(English, Chinese) text of each error's reason."""
    with translation.override("en"):
        en = [e.reason.text() for e in errors]
    with translation.override("zh-hans"):
        zh = [e.reason.text() for e in errors]
    return list(zip(en, zh, strict=True))


def store_errors(imp, errors, *, total_invalid: int | None = None) -> None:
    """Save the errors as ImportRowError rows and as the XLSX error report of the import (not saved: caller)."""
    from qingshou.portfolio.models import ImportRowError

    texts = render_reasons(errors)
    ImportRowError.objects.bulk_create(
        [ImportRowError(imp=imp, row=e.row, column=e.column[:100], value=e.value[:200], code=e.code,
                        reason=en[:300], reason_zh=zh[:300]) for e, (en, zh) in zip(errors, texts, strict=True)],
        batch_size=2000,
    )
    if not errors:
        return
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("错误报告")
    ws.append(list(HEADERS_ZH))
    for e, (_en, zh) in zip(errors, texts, strict=True):
        ws.append([e.row, e.column, e.value, CODE_ZH.get(e.code, e.code), zh])
    if total_invalid is not None and total_invalid > len({e.row for e in errors}):
        ws.append(["", "", "", "", f"（仅列出前 {len(errors)} 条错误）"])
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        imp.error_report.save(f"import-{imp.pk}-errors.xlsx", File(tmp), save=False)
