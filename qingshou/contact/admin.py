from django.contrib import admin

from qingshou.contact.models import OutcomeCode


@admin.register(OutcomeCode)
class OutcomeCodeAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "label_zh",
        "label_en",
        "order",
        "is_active",
        "connected",
        "right_party",
        "third_party",
        "marks_phone_invalid",
        "hold_reason",
        "opens_promise",
        "stop_today",
    )
    list_editable = ("order", "is_active")
    list_filter = ("is_active", "connected", "right_party", "opens_promise")
    search_fields = ("code", "label_zh", "label_en")
    ordering = ("order", "code")
