from django.contrib import admin

from qingshou.compliance.models import ComplianceDecision
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
