from django.contrib import admin

from qingshou.core.models import ApiToken, AuditLog, SchedulerRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id", "case_id", "reason")
    list_filter = ("action", "object_type")
    search_fields = ("action", "object_id", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("actor",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    exclude = ("digest",)


@admin.register(SchedulerRun)
class SchedulerRunAdmin(ReadOnlyAdmin):
    list_display = ("job", "due_at", "last_started_at", "last_finished_at", "claimed_by")
