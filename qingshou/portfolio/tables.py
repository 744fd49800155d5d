"""Case tables (django-tables2), one component for the queue, the case list and the team page."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from qingshou.core.masking import mask_phone
from qingshou.core.templatetags.qs import money
from qingshou.strategy.queue import PRIORITY_FIRST_CALL_OVERDUE, PRIORITY_PROMISE_DUE


class CaseTable(tables.Table):
    priority = tables.Column(verbose_name=_("Priority"), order_by=("priority", "-total_due"), empty_values=())
    account_number = tables.Column(verbose_name=_("Account"), linkify=False)
    debtor = tables.Column(verbose_name=_("Debtor"), accessor="debtor__name", order_by="debtor__name")
    debtor_phone = tables.Column(verbose_name=_("Phone"), orderable=False, empty_values=())
    product = tables.Column(verbose_name=_("Product"))
    creditor = tables.Column(verbose_name=_("Creditor"), accessor="creditor__name", order_by="creditor__code")
    dpd = tables.Column(verbose_name=_("DPD"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    bucket = tables.Column(verbose_name=_("Bucket"))
    total_due = tables.Column(
        verbose_name=_("Balance"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    status = tables.Column(verbose_name=_("Status"))
    assigned_to = tables.Column(verbose_name=_("Collector"), order_by="assigned_to__username")
    last_contact_at = tables.Column(verbose_name=_("Last contact"))
    next_work_at = tables.Column(verbose_name=_("Next follow-up"))
    on_hold = tables.Column(verbose_name=_("Hold"), empty_values=(), orderable=False)

    class Meta:
        attrs = {"class": "qs-table", "id": "case-table"}
        template_name = "partials/table.html"
        orderable = True
        empty_text = _("No cases.")
        fields = ()
        sequence = (
            "priority",
            "account_number",
            "debtor",
            "debtor_phone",
            "product",
            "creditor",
            "dpd",
            "bucket",
            "total_due",
            "status",
            "assigned_to",
            "last_contact_at",
            "next_work_at",
            "on_hold",
        )

    def render_priority(self, record):
        badges = []
        prio = getattr(record, "priority", None)
        if prio == PRIORITY_PROMISE_DUE or getattr(record, "promise_due", False):
            badges.append(("b-warn", _("promise due")))
        if prio == PRIORITY_FIRST_CALL_OVERDUE or (
            record.first_contact_at is None
            and record.first_call_due_at
            and record.first_call_due_at < timezone.now()
        ):
            badges.append(("b-alert", _("first call overdue")))
        if record.locked_until and record.locked_until > timezone.now():
            badges.append(("b-lock", _("locked")))
        treatment = getattr(record, "treatment", None)  # annotated by strategy.queue.work_queue
        if treatment:
            from qingshou.strategy.models import AGENT_TREATMENTS, TREATMENT_LABELS

            badges.append(("b-status" if treatment in AGENT_TREATMENTS else "b-muted",
                           TREATMENT_LABELS.get(treatment, treatment)))
        if not badges:
            return "—"
        return format_html_join(" ", '<span class="badge {}">{}</span>', ((c, t) for c, t in badges))

    def render_account_number(self, record, value):
        return format_html('<a href="{}">{}</a>', reverse("portfolio:case", args=[record.pk]), value)

    def render_debtor_phone(self, record):
        return mask_phone(getattr(record, "debtor_phone", "") or "") or "—"

    def render_total_due(self, value):
        return money(value)

    def render_status(self, record):
        return record.get_status_display()

    def render_bucket(self, record):
        return record.bucket

    def render_last_contact_at(self, value):
        return timezone.localtime(value).strftime("%m-%d %H:%M") if value else "—"

    def render_next_work_at(self, value):
        return timezone.localtime(value).strftime("%m-%d %H:%M") if value else "—"

    def render_assigned_to(self, value):
        return value.label if value else "—"

    def render_on_hold(self, record):
        if getattr(record, "on_hold", False):
            return format_html('<span class="badge b-hold">{}</span>', _("on hold"))
        return ""


class QueueTable(CaseTable):
    class Meta(CaseTable.Meta):
        exclude = ("assigned_to", "status")


class TeamCaseTable(CaseTable):
    select = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "input": {"name": "case_ids", "form": "bulk-form", "class": "row-check"},
            "th__input": {"class": "check-all", "title": _("select all")},
        },
    )

    class Meta(CaseTable.Meta):
        sequence = ("select", *CaseTable.Meta.sequence)
        exclude = ("debtor_phone",)
