"""qingshou import_placement FILE --creditor CODE [--profile NAME] [--dry-run] [--skip-invalid]"""

import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from qingshou.org.models import Creditor
from qingshou.portfolio.intake import create_import, run_placement_import
from qingshou.portfolio.models import Import, ImportKind, ImportProfile


class ProgressBar:
    """A one-line terminal progress bar: rows done / estimated, rows per second."""

    def __init__(self, stream, width=30):
        self.stream, self.width, self.start = stream, width, time.monotonic()

    def __call__(self, done, total):
        elapsed = max(time.monotonic() - self.start, 1e-6)
        frac = min(done / total, 1.0) if total else 0.0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done:>9,}/{total:,} rows  {done / elapsed:,.0f} rows/s ")
        self.stream.flush()

    def end(self):
        self.stream.write("\n")


class Command(BaseCommand):
    help = "Import a creditor's placement file (委案导入): CSV (UTF-8/GBK/GB18030), XLSX or XLS."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--creditor", required=True, help="creditor code")
        parser.add_argument("--profile", help="name of the creditor's saved import profile")
        parser.add_argument("--placement", help="batch code (default: the file name without extension)")
        parser.add_argument("--encoding", help="CSV text encoding (default: detected)")
        parser.add_argument("--sheet", help="Excel sheet name or 0-based index (default: the first)")
        parser.add_argument("--user", help="username recorded as the importer")
        parser.add_argument("--dry-run", action="store_true", help="validate and count only, write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="load the valid rows, report the rest")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **o):
        try:
            creditor = Creditor.objects.get(code=o["creditor"])
        except Creditor.DoesNotExist:
            raise CommandError(f"No creditor with code {o['creditor']!r}.") from None
        profile = None
        if o["profile"]:
            profile = ImportProfile.objects.filter(creditor=creditor, kind=ImportKind.PLACEMENT,
                                                   name=o["profile"]).first()
            if profile is None:
                raise CommandError(f"Creditor {creditor.code} has no import profile {o['profile']!r}.")
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"]).first()
            if user is None:
                raise CommandError(f"No user {o['user']!r}.")
        try:
            imp = create_import(o["file"], creditor=creditor, profile=profile, dry_run=o["dry_run"],
                                skip_invalid=o["skip_invalid"], acting_user=user, encoding=o["encoding"],
                                placement_code=o["placement"], sheet=o["sheet"])
        except OSError as exc:
            raise CommandError(str(exc)) from None
        if imp.status == Import.Status.NO_OP:
            self.stdout.write(imp.message)
            return
        bar = None if o["no_progress"] else ProgressBar(sys.stderr)
        started = time.monotonic()
        imp = run_placement_import(imp.pk, progress=bar)
        if bar:
            bar.end()
        secs = time.monotonic() - started
        self.stdout.write(f"import #{imp.pk}: {imp.get_status_display()} ({imp.status}) in {secs:.1f} s")
        self.stdout.write(f"rows {imp.total_rows}, valid {imp.valid_rows}, invalid {imp.invalid_rows}, "
                          f"created {imp.created_count}, updated {imp.updated_count}")
        if imp.message:
            self.stdout.write(imp.message)
        if imp.error_report:
            self.stdout.write(f"error report: {imp.error_report.path}")
        if imp.status in (Import.Status.FAILED, Import.Status.REJECTED):
            raise CommandError(imp.get_status_display())
