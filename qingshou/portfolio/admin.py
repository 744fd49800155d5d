"""Admin for configuration. Admins do no case work: cases are listed read-only, debtor data masked."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from qingshou.core.admin import ReadOnlyAdmin
from qingshou.core.masking import mask_name
from qingshou.portfolio.models import Case, Placement


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    list_display = ("code", "creditor", "starts_on", "ends_on", "created_at")
    list_filter = ("creditor",)
    search_fields = ("code",)
    date_hierarchy = "starts_on"


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = (
        "account_number",
        "debtor_masked",
        "creditor",
        "placement",
        "status",
        "bucket",
        "dpd",
        "team",
        "assigned_to",
    )
    list_filter = ("status", "bucket", "creditor", "team")
    search_fields = ("account_number",)
    list_select_related = ("debtor", "creditor", "placement", "team", "assigned_to")
    fields = (
        "account_number",
        "debtor_masked",
        "creditor",
        "placement",
        "product",
        "status",
        "bucket",
        "dpd",
        "total_due",
        "team",
        "assigned_to",
        "assigned_at",
        "first_contact_at",
        "last_contact_at",
    )
    readonly_fields = fields

    @admin.display(description=_("debtor"))
    def debtor_masked(self, obj):
        return mask_name(obj.debtor.name)
