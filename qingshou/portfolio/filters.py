"""Filters shared by the queue, the case list and the team page (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qingshou.core.scoping import visible_cases
from qingshou.core.views import SafeModelChoiceMixin
from qingshou.org.models import Creditor
from qingshou.portfolio.models import Bucket, CaseStatus
from qingshou.portfolio.search import cases_by_number_q
from qingshou.strategy.queue import PRIORITY_FIRST_CALL_OVERDUE, PRIORITY_NORMAL, PRIORITY_PROMISE_DUE


def _creditors(request):
    if request is None:
        return Creditor.objects.none()
    return Creditor.objects.filter(pk__in=visible_cases(request.user).values("creditor_id"))


class SafeModelChoiceField(SafeModelChoiceMixin, forms.ModelChoiceField):
    pass


class SafeModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = SafeModelChoiceField


class IntFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


PRIORITY_CHOICES = [
    (str(PRIORITY_PROMISE_DUE), _("promise due")),
    (str(PRIORITY_FIRST_CALL_OVERDUE), _("first call overdue")),
    (str(PRIORITY_NORMAL), _("normal")),
]


class QueueFilter(django_filters.FilterSet):
    """Filters of the work queue (active cases only, so no status filter)."""

    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        widget=forms.TextInput(
            attrs={
                "placeholder": _("account number, debtor name, full phone or ID number"),
                "id": "qs-search",
                "autocomplete": "off",
            }
        ),
    )
    bucket = django_filters.ChoiceFilter(choices=Bucket.choices, label=_("Bucket"), empty_label=_("all"))
    dpd_min = IntFilter(
        field_name="dpd",
        lookup_expr="gte",
        label=_("DPD from"),
        min_value=0,
        max_value=99999,
        widget=forms.NumberInput(attrs={"min": 0, "class": "num"}),
    )
    dpd_max = IntFilter(
        field_name="dpd",
        lookup_expr="lte",
        label=_("DPD to"),
        min_value=0,
        max_value=99999,
        widget=forms.NumberInput(attrs={"min": 0, "class": "num"}),
    )
    creditor = SafeModelChoiceFilter(queryset=_creditors, label=_("Creditor"), empty_label=_("all"))
    priority = django_filters.ChoiceFilter(
        choices=PRIORITY_CHOICES, method="by_priority", label=_("Priority"), empty_label=_("all")
    )

    def search(self, queryset, name, value):
        value = (value or "").strip()[:60]
        if not value:
            return queryset
        q = Q(account_number__icontains=value) | Q(debtor__name__icontains=value)
        by_number = cases_by_number_q(value)  # full phone or ID number, through the keyed hash
        return queryset.filter(q | by_number if by_number is not None else q)

    def by_priority(self, queryset, name, value):
        try:
            return queryset.filter(priority=int(value))
        except (TypeError, ValueError):
            return queryset


class CaseFilter(QueueFilter):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices, label=_("Status"), empty_label=_("all"))
