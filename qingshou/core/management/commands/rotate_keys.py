"""`qingshou rotate_keys`: re-encrypt PII under the current field key (see qingshou/core/crypto.py)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from qingshou.core import crypto
from qingshou.core.rotation import rotate_keys


class Command(BaseCommand):
    help = ("Re-encrypt phone and ID numbers still under an older key with the current key (the first of "
            "QINGSHOU_FIELD_KEYS), in committed batches; safe to interrupt and run again.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--rehash", action="store_true",
                            help="rewrite every value and its lookup hash (after changing QINGSHOU_FIELD_HASH_KEY)")
        parser.add_argument("--dry-run", action="store_true", help="only count the values to re-encrypt")

    def handle(self, *, batch_size, rehash, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        ring = crypto.keyring()
        self.stdout.write(_("Current key: %(current)s; keyring: %(all)s")
                          % {"current": ring.current.id, "all": ", ".join(k.id for k in ring.keys)})

        def progress(r):
            self.stdout.write(f"  {r.label}: {r.done}/{r.pending}")

        try:
            results = rotate_keys(batch_size=batch_size, rehash=rehash, dry_run=dry_run,
                                  progress=None if dry_run else progress)
        except crypto.DecryptionError as exc:
            raise CommandError(str(exc)) from exc
        for r in results:
            if dry_run:
                self.stdout.write(_("%(field)s: %(n)s values to re-encrypt") % {"field": r.label, "n": r.pending})
            else:
                self.stdout.write(_("%(field)s: %(n)s values re-encrypted") % {"field": r.label, "n": r.done})
