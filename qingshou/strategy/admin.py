from django.contrib import admin

from qingshou.strategy.models import CollectorProfile, TeamCreditor


@admin.register(CollectorProfile)
class CollectorProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "seniority", "capacity", "regions", "skills")
    search_fields = ("user__username", "user__display_name")


@admin.register(TeamCreditor)
class TeamCreditorAdmin(admin.ModelAdmin):
    list_display = ("team", "creditor")
    list_filter = ("team", "creditor")
