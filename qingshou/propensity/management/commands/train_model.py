"""qingshou train_model [--weeks 26] [--activate] [--user USERNAME]: train a propensity model version."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from qingshou.core.errors import ActionError
from qingshou.org.models import User
from qingshou.propensity.actions import do_train_model


class Command(BaseCommand):
    help = "Train the propensity-to-pay model on the system's own history (time-based holdout) and store it."

    def add_arguments(self, parser):
        parser.add_argument("--weeks", type=int, default=26, help="weekly snapshots, the last one 30 days ago")
        parser.add_argument("--activate", action="store_true", help="make the new version the active one")
        parser.add_argument("--user", default="", help="username recorded as the trainer")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **opts):
        user = None
        if opts["user"]:
            user = User.objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no user {opts['user']!r}")
        if opts["weeks"] < 2:
            raise CommandError("--weeks must be at least 2")
        try:
            row = do_train_model(acting_user=user, weeks=opts["weeks"], activate=opts["activate"], seed=opts["seed"])
        except ActionError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        h = row.metrics["holdout"]
        auc = f"{h['auc']:.3f}" if h["auc"] is not None else "n/a"
        self.stdout.write(
            f"Model v{row.version} ({row.algorithm}): trained on {row.train_rows} snapshot rows before {row.cutoff}, "
            f"measured on {row.holdout_rows} later rows: AUC {auc}, Brier {h['brier']:.4f}, "
            f"base rate {h['base_rate']:.3f}{' — active' if row.active else ''}")
