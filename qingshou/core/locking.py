"""Locking contested rows in one fixed order (by primary key), so two actions never deadlock."""

from django.db import models


def lock_rows(queryset: models.QuerySet) -> list:
    """SELECT … FOR UPDATE ordered by pk. On SQLite the IMMEDIATE transaction already serialises writers."""
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))


def lock_one(model: type[models.Model], pk) -> models.Model:
    return model.objects.select_for_update().get(pk=pk)
