"""qingshou import_enrichment FILE --creditor CODE [--user NAME]"""

from django.core.management.base import BaseCommand, CommandError

from qingshou.core.errors import ActionError
from qingshou.portfolio.management.commands._common import get_creditor, get_user
from qingshou.skiptrace.enrichment import do_import_enrichment


class Command(BaseCommand):
    help = ("Record the new phones, addresses and employers of a creditor's enrichment file (CSV/XLSX/XLS: "
            "account number + 电话 / 地址 / 单位地址 / 工作单位, optional 来源). Idempotent; unmatched rows are "
            "reported.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--creditor", required=True, help="Creditor code.")
        parser.add_argument("--user", help="Username recorded as the importer (default: system).")

    def handle(self, *args, file, creditor, user=None, **options):
        creditor = get_creditor(creditor)
        try:
            imp = do_import_enrichment(file, creditor=creditor, acting_user=get_user(user), file_name=file)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except ActionError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Enrichment import {imp.pk}: rows {imp.total_rows}, matched {imp.matched_rows}, "
                          f"unmatched {imp.unmatched_rows}, invalid {imp.invalid_rows}")
        self.stdout.write(f"  added: phones {imp.phones_added}, addresses {imp.addresses_added}, "
                          f"employers {imp.employers_added}; already known {imp.duplicates}")
        for e in imp.errors:
            self.stdout.write(f"  row {e['row']} ({e['account']}): {e['message']}")
