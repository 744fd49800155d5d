"""`qingshou reap_tasks`: recover task rows left RUNNING by a killed worker (the scheduler does it too)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from qingshou.core.tasks import reap_stale_tasks


class Command(BaseCommand):
    help = "Requeue (or fail, after too many attempts) tasks left RUNNING by a worker that died."

    def handle(self, **options):
        counts = reap_stale_tasks()
        self.stdout.write(_("Stale tasks: %(requeued)s requeued, %(failed)s marked failed.") % counts)
