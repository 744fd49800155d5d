"""qingshou extend_placement --creditor CODE --placement CODE --until DATE --reason TEXT (留案 of a batch)."""

from django.core.management.base import BaseCommand, CommandError

from qingshou.core.errors import ActionError
from qingshou.portfolio.actions import do_extend_placement
from qingshou.portfolio.management.commands._common import action_error, get_creditor, get_user, parse_date


class Command(BaseCommand):
    help = "Extend a placement's period (留案): its cases are not recalled before the new end date."

    def add_arguments(self, parser):
        parser.add_argument("--creditor", required=True)
        parser.add_argument("--placement", required=True, help="Batch code.")
        parser.add_argument("--until", required=True, help="New last day of the placement (YYYY-MM-DD).")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--user", help="Username recorded as the one who extended it (default: system).")

    def handle(self, *args, creditor, placement, until, reason, user=None, **options):
        creditor = get_creditor(creditor)
        batch = creditor.placements.filter(code=placement).first()
        if batch is None:
            raise CommandError(f"No placement {placement!r} of creditor {creditor.code}.")
        try:
            batch = do_extend_placement(batch, ends_on=parse_date(until, "--until"), acting_user=get_user(user),
                                        reason=reason)
        except ActionError as exc:
            raise action_error(exc) from exc
        self.stdout.write(f"Placement {batch} now ends on {batch.ends_on.isoformat()}.")
