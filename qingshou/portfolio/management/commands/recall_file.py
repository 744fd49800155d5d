"""qingshou recall_file --creditor CODE [--placement CODE] [--since DATE] [--until DATE] -o FILE.xlsx"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from qingshou.portfolio.management.commands._common import get_creditor, parse_date
from qingshou.portfolio.recall import recalled_cases, write_recall_file


class Command(BaseCommand):
    help = ("Write the recall file (XLSX) for a creditor: its recalled cases, their status before the recall "
            "and a summary of the work done (contacts, promises, payments).")

    def add_arguments(self, parser):
        parser.add_argument("--creditor", required=True, help="Creditor code.")
        parser.add_argument("--placement", help="Only cases of this placement (batch code).")
        parser.add_argument("--since", help="Recalled on or after this day (YYYY-MM-DD).")
        parser.add_argument("--until", help="Recalled on or before this day (YYYY-MM-DD).")
        parser.add_argument("-o", "--output", required=True, help="Where to write the .xlsx file.")
        parser.add_argument("--language", default="zh-hans", help="zh-hans (default) or en.")

    def handle(self, *args, creditor, output, placement=None, since=None, until=None, language="zh-hans",
               **options):
        creditor = get_creditor(creditor)
        batch = None
        if placement:
            batch = creditor.placements.filter(code=placement).first()
            if batch is None:
                raise CommandError(f"No placement {placement!r} of creditor {creditor.code}.")
        qs = recalled_cases(creditor, placement=batch, since=parse_date(since, "--since"),
                            until=parse_date(until, "--until"))
        with translation.override(language):
            n = write_recall_file(qs, output, english=language.startswith("en"))
        self.stdout.write(f"{n} recalled cases written to {output}")
