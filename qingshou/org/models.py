from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Jurisdiction(models.TextChoices):
    """Which compliance preset governs a creditor's cases (compliance.presets)."""

    CN = "cn", _("mainland China")
    US = "us", _("United States")


class Creditor(models.Model):
    """甲方: the client whose debt we collect."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, choices=Jurisdiction.choices,
                                    default=Jurisdiction.CN)

    class Meta:
        verbose_name = _("creditor")
        verbose_name_plural = _("creditors")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Branch(models.Model):
    """分支机构."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Team(models.Model):
    """A collection team (组) in a branch."""

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="teams", verbose_name=_("branch"))
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    COLLECTOR = "collector", _("collector")
    TEAM_LEADER = "team_leader", _("team leader")
    SUPERVISOR = "supervisor", _("supervisor")
    QA = "qa", _("QA inspector")
    COMPLAINTS = "complaints", _("complaints desk")
    LAWYER = "lawyer", _("lawyer")
    CREDITOR = "creditor", _("creditor user")
    ADMIN = "admin", _("administrator")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.COLLECTOR)
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="users", verbose_name=_("branch")
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members", verbose_name=_("team")
    )
    creditor = models.ForeignKey(
        Creditor,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("creditor"),
        help_text=_("Only for creditor users: the creditor whose portfolio they may read."),
    )
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    is_senior = models.BooleanField(_("senior collector"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.username

    @property
    def label(self) -> str:
        return self.display_name or self.username
