"""qingshou recall_cases FILE --creditor CODE --reason TEXT: 退案 of the accounts listed in a file."""

from django.core.management.base import BaseCommand, CommandError

from qingshou.core.errors import ActionError
from qingshou.portfolio.management.commands._common import action_error, get_creditor, get_user
from qingshou.portfolio.recall import recall_from_file


class Command(BaseCommand):
    help = ("Recall (退案) the creditor's cases whose account numbers are listed in FILE (CSV/XLSX/XLS; the "
            "column headed 卡号/合同号/账号, else the first column). Settled, closed and recalled cases are "
            "left alone; accounts not found are listed.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--creditor", required=True, help="Creditor code.")
        parser.add_argument("--reason", required=True, help="Why, e.g. 甲方要求退案.")
        parser.add_argument("--encoding", help="Force the CSV encoding (gbk, gb18030, utf-8).")
        parser.add_argument("--user", help="Username recorded as the one who recalled (default: system).")

    def handle(self, *args, file, creditor, reason, encoding=None, user=None, **options):
        creditor = get_creditor(creditor)
        try:
            report = recall_from_file(file, creditor=creditor, acting_user=get_user(user), reason=reason,
                                      encoding=encoding)
        except ActionError as exc:
            raise action_error(exc) from exc
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{report.total} accounts listed, {len(report.case_ids)} cases recalled, "
                          f"{len(report.not_found)} not found, {len(report.not_recallable)} not recallable.")
        for row, account in report.not_found:
            self.stdout.write(f"  row {row}: {account}: no case of {creditor.code} with this account number")
        for row, account, status in report.not_recallable:
            self.stdout.write(f"  row {row}: {account}: status {status}, not recalled")
