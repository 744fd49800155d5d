"""qingshou import_payments FILE --creditor CODE [--dry-run] [--skip-invalid] [--encoding ENC]"""

import sys

from django.core.management.base import BaseCommand, CommandError

from qingshou.payments.intake import create_payment_import, run_payment_import
from qingshou.portfolio.management.commands._common import get_creditor, get_user


class ProgressBar:
    """A one-line progress bar on a terminal (plain lines when not a terminal)."""

    def __init__(self, stream, width: int = 40):
        self.stream = stream
        self.width = width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = int(done * 100 / total) if total else 100
        if pct == self.last:
            return
        self.last = pct
        filled = int(self.width * pct / 100)
        bar = "#" * filled + "-" * (self.width - filled)
        if self.tty:
            self.stream.write(f"\r[{bar}] {pct:3d}% {done}/{total}")
            if done >= total:
                self.stream.write("\n")
        elif pct % 10 == 0 or done >= total:
            self.stream.write(f"[{bar}] {pct:3d}% {done}/{total}\n")
        self.stream.flush()


class Command(BaseCommand):
    help = ("Record the payments of a creditor's repayment file (CSV/XLSX/XLS). Idempotent on the creditor's "
            "transaction id (交易流水号); rows are matched to cases by account number (卡号/合同号); rows "
            "matching no case are reported. Invalid rows reject the file unless --skip-invalid.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--creditor", required=True, help="Creditor code.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file; record nothing.")
        parser.add_argument("--skip-invalid", action="store_true", help="Record the good rows, report the rest.")
        parser.add_argument("--encoding", help="Force the CSV encoding (gbk, gb18030, utf-8).")
        parser.add_argument("--user", help="Username recorded as the importer (default: system).")

    def handle(self, *args, file, creditor, dry_run=False, skip_invalid=False, encoding=None, user=None,
               **options):
        creditor = get_creditor(creditor)
        try:
            imp = create_payment_import(file, creditor=creditor, acting_user=get_user(user), dry_run=dry_run,
                                        skip_invalid=skip_invalid, encoding=encoding)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        imp = run_payment_import(imp.pk, progress=ProgressBar(sys.stderr))
        o = imp.options or {}
        self.stdout.write(f"Import {imp.pk}: {imp.get_status_display()} ({imp.status})")
        self.stdout.write(f"  rows {imp.total_rows}, invalid {imp.invalid_rows}, recorded {imp.created_count}, "
                          f"already recorded {o.get('already_recorded', 0)}, matched no case {o.get('unmatched', 0)}")
        if imp.message:
            self.stdout.write(f"  {imp.message}")
        for e in imp.row_errors.all()[:20]:
            self.stdout.write(f"  row {e.row} {e.column}: {e.value} — {e.reason_zh or e.reason}")
        extra = imp.row_errors.count() - 20
        if extra > 0:
            self.stdout.write(f"  … and {extra} more")
        if imp.error_report:
            self.stdout.write(f"  error report: {imp.error_report.path}")
        if imp.status in ("failed", "rejected"):
            raise CommandError(f"payment import {imp.status}")
