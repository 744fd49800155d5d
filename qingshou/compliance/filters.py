"""Filters of the decision log (django-filter). The queryset is already scoped (visible_decisions)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qingshou.compliance import reports
from qingshou.compliance.labels import rule_label
from qingshou.contact.models import Channel
from qingshou.portfolio.filters import SafeModelChoiceFilter


def known_rule_ids(scope_qs) -> list[str]:
    """Every rule id the presets can produce, plus any seen in recent refusals of the scope."""
    from qingshou.compliance.engine import all_rule_ids
    from qingshou.compliance.presets import PRESETS
    from qingshou.compliance.types import Policy

    ids: set[str] = set()
    for preset in ("cn", "us"):
        ids.update(all_rule_ids(Policy(layers=(PRESETS[preset], PRESETS["house"]))))
    ids.update(reports.recent_rule_ids(scope_qs))
    return sorted(ids)


def _users(request):
    User = apps.get_model("org", "User")
    if request is None:
        return User.objects.none()
    qs = getattr(request, "_decision_scope", None)
    if qs is None:
        return User.objects.none()
    return User.objects.filter(pk__in=qs.values("requested_by_id")).order_by("username")


class DateFilter(django_filters.DateFilter):
    """A local calendar day, compared with an aware timestamp (start of day / start of next day)."""

    def __init__(self, *args, end=False, **kwargs):
        self.end = end
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if not (2000 <= value.year <= 2999):
            return qs.none()
        moment = timezone.make_aware(datetime.combine(value, time.min))
        if self.end:
            return qs.filter(**{f"{self.field_name}__lt": moment + timedelta(days=1)})
        return qs.filter(**{f"{self.field_name}__gte": moment})


class DecisionFilter(django_filters.FilterSet):
    allowed = django_filters.ChoiceFilter(
        choices=[("1", _("allowed")), ("0", _("refused"))], method="by_allowed", label=_("Decision"),
        empty_label=_("all"),
    )
    rule = django_filters.ChoiceFilter(choices=[], method="by_rule", label=_("Rule"), empty_label=_("all"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"), empty_label=_("all"))
    date_from = DateFilter(field_name="decided_at", label=_("From"))
    date_to = DateFilter(field_name="decided_at", end=True, label=_("To"))
    user = SafeModelChoiceFilter(field_name="requested_by", queryset=_users, label=_("Requested by"),
                                 empty_label=_("all"))

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        if request is not None:
            request._decision_scope = queryset
        super().__init__(data, queryset, request=request, **kwargs)
        rules = known_rule_ids(queryset) if queryset is not None else []
        self.filters["rule"].extra["choices"] = [(r, f"{rule_label(r)} · {r}") for r in rules]

    def by_allowed(self, queryset, name, value):
        if value in ("0", "1"):
            return queryset.filter(allowed=value == "1")
        return queryset

    def by_rule(self, queryset, name, value):
        return reports.filter_by_rule(queryset, value) if value else queryset
