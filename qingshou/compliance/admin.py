from django.contrib import admin

from qingshou.compliance.models import (
    CalendarDate,
    ComplianceDecision,
    ContactPreference,
    DoNotContact,
    PolicyLayerVersion,
)
from qingshou.core.admin import ReadOnlyAdmin


@admin.register(ComplianceDecision)
class ComplianceDecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "decided_at",
        "allowed",
        "case_id",
        "channel",
        "contact_at",
        "next_allowed_at",
        "policy_version",
        "requested_by",
    )
    list_filter = ("allowed", "channel", "policy_version")
    date_hierarchy = "decided_at"


# Changes go through compliance.actions (audited, versioned); the admin only reads.
@admin.register(PolicyLayerVersion)
class PolicyLayerVersionAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "kind", "status", "published_at", "published_by", "note")
    list_filter = ("kind", "status")


@admin.register(DoNotContact)
class DoNotContactAdmin(ReadOnlyAdmin):
    list_display = ("debtor_id", "case_id", "phone", "channel", "reason", "created_at", "lifted_at")
    list_filter = ("channel",)


@admin.register(ContactPreference)
class ContactPreferenceAdmin(ReadOnlyAdmin):
    list_display = ("debtor_id", "kind", "start", "end", "weekdays", "on_date", "removed_at")
    list_filter = ("kind",)


@admin.register(CalendarDate)
class CalendarDateAdmin(ReadOnlyAdmin):
    list_display = ("date", "kind", "creditor", "name")
    list_filter = ("kind", "creditor")
