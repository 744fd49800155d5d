from django.contrib import admin

from qingshou.compliance.models import ComplianceDecision


@admin.register(ComplianceDecision)
class ComplianceDecisionAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
