"""Readers for creditor files: CSV (UTF-8, UTF-8 with BOM, GBK, GB18030), XLSX and legacy XLS.

Every reader streams: rows are produced one at a time (CSV through a text wrapper, XLSX with openpyxl's
read-only mode, XLS sheet by sheet with xlrd's on-demand loading) and the whole file is never held in memory
(xlrd needs the bytes of a legacy .xls; such files are at most 65,536 rows).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from django.utils.translation import gettext_lazy as _

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SAMPLE_BYTES = 1 << 20  # the encoding is guessed from the first MiB
CSV_DELIMITERS = ",\t;|"

csv.field_size_limit(1 << 24)


class UnreadableFile(ValueError):
    """The file cannot be read as a table; ``str(exc)`` says why (translated)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return str(self.message)


@dataclass
class Table:
    """A file opened for reading.

    ``headers``: the header row (stripped strings). ``rows()``: an iterator of (row_number, [cell strings])
    where row_number is the 1-based row of the file as a spreadsheet shows it (the header is row 1).
    Blank rows are skipped. ``encoding``: the CSV text encoding used (None for Excel). ``format``: "csv",
    "xlsx" or "xls". ``sheet``/``sheets``: the sheet read and all sheet names (Excel only).
    ``row_estimate``: a cheap estimate of the number of data rows (for progress bars).
    """

    headers: list[str]
    format: str
    encoding: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    row_estimate: int = 0
    _iter: Iterator | None = None
    _closers: list = field(default_factory=list)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        if self._iter is None:
            raise RuntimeError("rows() can be iterated once")
        it, self._iter = self._iter, None
        try:
            yield from it
        finally:
            self.close()

    def close(self):
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # noqa: BLE001,S110 - closing is best effort
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _open_binary(file):
    """(binary file object, close callable, path or None)."""
    if isinstance(file, str | os.PathLike):
        fh = open(file, "rb")  # noqa: SIM115 - closed by the Table
        return fh, fh.close, Path(file)
    path = getattr(file, "path", None)
    if path is None and isinstance(getattr(file, "name", None), str) and os.path.exists(file.name):
        path = file.name
    if hasattr(file, "open") and getattr(file, "closed", False):
        file.open("rb")
    if hasattr(file, "seek"):
        file.seek(0)
    return file, (lambda: None), Path(path) if path else None


def cell_text(value) -> str:
    """One spreadsheet cell as the text a user sees (numbers without a spurious .0, dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _normalise_encoding(name: str) -> str:
    name = codecs.lookup(name).name  # canonical: utf-8, gbk, gb18030, ...
    return {"gb2312": "gbk", "hz": "gbk"}.get(name, name)


def detect_encoding(sample: bytes) -> str:
    """The text encoding of a CSV sample: utf-8-sig, utf-8, gbk, gb18030, or charset-normalizer's guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in ("utf-8", "gbk", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return enc
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise UnreadableFile(_("The file is neither a spreadsheet nor text in a known encoding."))
    return _normalise_encoding(best.encoding)


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _estimate_lines(fh, path) -> int:
    if path is None:
        return 0
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            n += chunk.count(b"\n")
    return max(0, n - 1)


def _read_csv(fh, close, path, encoding) -> Table:
    sample = fh.read(SAMPLE_BYTES)
    fh.seek(0)
    if encoding:
        try:
            encoding = _normalise_encoding(encoding)
        except LookupError:
            raise UnreadableFile(_("Unknown text encoding: %(encoding)s") % {"encoding": encoding}) from None
    else:
        encoding = detect_encoding(sample)
    # GBK files are decoded as GB18030, its superset: a stray GB18030-only character is not an error.
    codec = "gb18030" if encoding == "gbk" else encoding
    text = io.TextIOWrapper(fh, encoding=codec, errors="strict", newline="")
    try:
        first = text.readline()
    except UnicodeDecodeError:
        raise UnreadableFile(
            _("The file is not valid %(encoding)s text; choose its encoding.") % {"encoding": encoding}) from None
    if first.startswith("\ufeff"):
        first = first[1:]
    if not first.strip():
        raise UnreadableFile(_("The file has no header row."))
    delimiter = _sniff_delimiter(first)
    headers = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]

    def gen():
        reader = csv.reader(text, delimiter=delimiter)
        rownum = 1
        try:
            for cells in reader:
                rownum += 1
                cells = [c.strip() for c in cells]
                if any(cells):
                    yield rownum, cells
        except UnicodeDecodeError:
            raise UnreadableFile(_("Row %(row)s is not valid %(encoding)s text; choose the file's encoding.")
                                 % {"row": rownum + 1, "encoding": encoding}) from None

    return Table(headers=headers, format="csv", encoding=encoding, row_estimate=_estimate_lines(fh, path),
                 _iter=gen(), _closers=[text.detach, close])


def _read_xlsx(fh, close, path, sheet) -> Table:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path or fh, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parser error means the same to the user
        raise UnreadableFile(_("The Excel file cannot be read: %(error)s") % {"error": exc}) from None
    names = wb.sheetnames
    ws = _pick_sheet(wb, names, sheet)
    it = ws.iter_rows(values_only=True)
    headers = []
    for first in it:
        headers = [cell_text(v) for v in first]
        if any(headers):
            break
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        wb.close()
        raise UnreadableFile(_("The file has no header row."))
    width = len(headers)

    def gen():
        rownum = 1
        for values in it:
            rownum += 1
            cells = [cell_text(v) for v in values[:width]]
            if any(cells):
                yield rownum, cells

    return Table(headers=headers, format="xlsx", sheet=ws.title, sheets=names,
                 row_estimate=max(0, (ws.max_row or 1) - 1), _iter=gen(), _closers=[wb.close, close])


def _pick_sheet(book, names, sheet):
    if sheet is None or sheet == "":
        sheet = 0
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
        idx = int(sheet)
        if not 0 <= idx < len(names):
            raise UnreadableFile(_("The file has no sheet %(sheet)s.") % {"sheet": sheet})
        name = names[idx]
    elif sheet in names:
        name = sheet
    else:
        raise UnreadableFile(_("The file has no sheet %(sheet)s.") % {"sheet": sheet})
    return book[name] if hasattr(book, "sheetnames") else book.sheet_by_name(name)


def _read_xls(fh, close, path, sheet) -> Table:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=fh.read(), on_demand=True)
    except Exception as exc:  # noqa: BLE001
        raise UnreadableFile(_("The Excel file cannot be read: %(error)s") % {"error": exc}) from None
    close()
    names = book.sheet_names()
    sh = _pick_sheet(book, names, sheet)

    def text(cell):
        if cell.ctype == xlrd.XL_CELL_DATE:
            try:
                return cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode))
            except Exception:  # noqa: BLE001
                return cell_text(cell.value)
        return cell_text(cell.value)

    headers = [text(c) for c in sh.row(0)] if sh.nrows else []
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise UnreadableFile(_("The file has no header row."))
    width = len(headers)

    def gen():
        for r in range(1, sh.nrows):
            cells = [text(c) for c in sh.row(r)[:width]]
            if any(cells):
                yield r + 1, cells

    return Table(headers=headers, format="xls", sheet=sh.name, sheets=names, row_estimate=max(0, sh.nrows - 1),
                 _iter=gen(), _closers=[book.release_resources])


def read_table(file, *, encoding: str | None = None, sheet: str | int | None = None) -> Table:
    """Open a placement or payment file and return a streaming Table.

    ``file``: a path (str/Path) or a seekable binary file object (Django UploadedFile/FieldFile).
    The format is detected from the content (XLSX = zip, XLS = OLE2 signature, anything else CSV).
    ``encoding``: force a CSV text encoding (e.g. "gbk"); default: detected (UTF-8 with or without BOM,
    GBK, GB18030; charset-normalizer for anything else). ``sheet``: sheet name or 0-based index for Excel
    (default: the first). Raises UnreadableFile (a ValueError with a translated message).
    """
    fh, close, path = _open_binary(file)
    try:
        head = fh.read(8)
        fh.seek(0)
        if head.startswith(XLSX_MAGIC):
            return _read_xlsx(fh, close, path, sheet)
        if head.startswith(XLS_MAGIC):
            return _read_xls(fh, close, path, sheet)
        if not head:
            raise UnreadableFile(_("The file is empty."))
        return _read_csv(fh, close, path, encoding)
    except BaseException:
        close()
        raise
