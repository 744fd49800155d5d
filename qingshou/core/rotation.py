"""Key rotation for encrypted fields: re-encrypt every value not under the current key (and refresh its
lookup hash), in batches that each commit, so an interrupted run resumes where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from qingshou.core import crypto
from qingshou.core.fields import EncryptedCharField


@dataclass
class RotationResult:
    label: str  # "portfolio.Phone.number"
    pending: int
    done: int = 0


def encrypted_fields():
    """(model, encrypted field, its hash field) for every installed model."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedCharField):
                yield model, field, field.hash_field


def _pending(model, field, *, rehash: bool):
    qs = model._base_manager.exclude(**{field.attname: ""}).exclude(**{f"{field.attname}__isnull": True})
    if rehash:
        return qs
    raw = Cast(field.attname, output_field=TextField())  # the stored text, not decrypted
    return qs.annotate(_stored=raw).exclude(_stored__startswith=crypto.keyring().current.prefix)


def rotate_keys(*, batch_size: int = 1000, rehash: bool = False, dry_run: bool = False,
                progress: Callable[[RotationResult], None] | None = None) -> list[RotationResult]:
    """Re-encrypt with the current key (the first of the keyring) every value still under an older key.

    ``rehash`` rewrites every value and its hash (after changing QINGSHOU_FIELD_HASH_KEY). Each batch is
    its own transaction with the rows locked (PostgreSQL), so concurrent edits are not lost and a killed
    run loses at most one uncommitted batch; running again continues with the rows still pending.
    """
    results = []
    for model, field, hash_field in encrypted_fields():
        label = f"{model._meta.label}.{field.name}"
        pending = _pending(model, field, rehash=rehash)
        result = RotationResult(label=label, pending=pending.count())
        results.append(result)
        if dry_run or not result.pending:
            continue
        last_pk = None
        while True:
            with transaction.atomic():
                qs = pending.order_by("pk")
                if last_pk is not None:
                    qs = qs.filter(pk__gt=last_pk)
                rows = list(qs.select_for_update().only("pk", field.attname)[:batch_size])
                if not rows:
                    break
                # Loading decrypted each value with whichever key it names; saving encrypts with the current
                # key, and the hash field reads as the hash of the plaintext under the current hash key.
                model._base_manager.bulk_update(rows, [field.name, hash_field.name])
            last_pk = rows[-1].pk
            result.done += len(rows)
            if progress:
                progress(result)
    return results
