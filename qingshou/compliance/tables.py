"""The decision log table (django-tables2)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from qingshou.compliance.labels import channel_label, rule_label


def _dt(value, fmt="%Y-%m-%d %H:%M:%S"):
    return timezone.localtime(value).strftime(fmt) if value else "—"


class DecisionTable(tables.Table):
    decided_at = tables.Column(verbose_name=_("Decided at"))
    allowed = tables.Column(verbose_name=_("Decision"))
    rules = tables.Column(verbose_name=_("Rules"), accessor="reasons", orderable=False, empty_values=())
    channel = tables.Column(verbose_name=_("Channel"))
    case_id = tables.Column(verbose_name=_("Case"))
    contact_at = tables.Column(verbose_name=_("Contact time"))
    next_allowed_at = tables.Column(verbose_name=_("Next allowed"), empty_values=())
    requested_by = tables.Column(verbose_name=_("Requested by"), order_by="requested_by__username",
                                 empty_values=())
    policy_version = tables.Column(verbose_name=_("Policy version"))

    class Meta:
        attrs = {"class": "qs-table compact", "id": "decision-table"}
        template_name = "compliance/_table.html"
        orderable = True
        order_by = "-decided_at"
        empty_text = _("No decisions.")
        fields = ()
        sequence = ("decided_at", "allowed", "rules", "channel", "case_id", "contact_at", "next_allowed_at",
                    "requested_by", "policy_version")

    def __init__(self, *args, case_links=None, **kwargs):
        super().__init__(*args, **kwargs)
        # {case_id: account number} for the cases the viewer may open; others show as a bare id.
        self.case_links = case_links or {}

    def render_decided_at(self, value):
        return _dt(value)

    def render_contact_at(self, value):
        return _dt(value, "%Y-%m-%d %H:%M")

    def render_next_allowed_at(self, value):
        return _dt(value, "%Y-%m-%d %H:%M") if value else "—"

    def render_allowed(self, value):
        if value:
            return format_html('<span class="badge b-ok">{}</span>', _("allowed"))
        return format_html('<span class="badge b-alert">{}</span>', _("refused"))

    def render_rules(self, value):
        reasons = [r for r in (value or []) if isinstance(r, dict)]
        if not reasons:
            return "—"
        english = (get_language() or "").startswith("en")
        key = "message_en" if english else "message_zh"
        return format_html_join(
            " ",
            '<span class="rule" title="{}">{} <code class="rid">{}</code></span>',
            ((r.get(key) or "", rule_label(r.get("rule", "")), r.get("rule", "")) for r in reasons),
        )

    def render_channel(self, value):
        return channel_label(value)

    def render_case_id(self, value):
        account = self.case_links.get(value)
        if account is None:
            return format_html('<span class="muted mono">#{}</span>', value)
        return format_html('<a href="{}">{}</a>', reverse("portfolio:case", args=[value]), account)

    def render_requested_by(self, value):
        return value.label if value else _("system")

    def render_policy_version(self, value):
        return format_html('<code class="pv">{}</code>', value)
