"""Detection when a contact is logged: after the contact's transaction commits, assess its case."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from qingshou.contact.models import ContactAttempt

logger = logging.getLogger("qingshou.skiptrace")


def _after_commit(contact_id: int):
    from qingshou.skiptrace.actions import do_after_contact

    try:
        do_after_contact(contact_id)
    except Exception:  # never break the contact that triggered us; the nightly pass catches up
        logger.exception("skip-trace check after contact %s failed", contact_id)


@receiver(post_save, sender=ContactAttempt, dispatch_uid="skiptrace.after_contact")
def after_contact(sender, instance, created, **kwargs):
    if created:
        pk = instance.pk
        transaction.on_commit(lambda: _after_commit(pk))
