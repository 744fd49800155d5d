from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from qingshou.org.models import Branch, Creditor, Team, User


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "branch")
    list_filter = ("branch",)
    search_fields = ("code", "name")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = (
        "username",
        "display_name",
        "role",
        "team",
        "branch",
        "creditor",
        "is_active",
        "last_login",
    )
    list_filter = ("role", "is_active", "branch", "team", "creditor")
    search_fields = ("username", "display_name", "first_name", "last_name", "email")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            _("qingshou role and scope"),
            {"fields": ("role", "display_name", "branch", "team", "creditor", "is_senior")},
        ),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("qingshou role and scope"), {"fields": ("role", "display_name", "branch", "team", "creditor")}),
    )
