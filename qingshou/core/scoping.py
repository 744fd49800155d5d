"""The one place that decides what a user may see and do.

Every list, detail page, API operation and export starts from these querysets. An object outside a
user's scope is a 404, never a 403 that confirms it exists. Tenancy comes from the logged-in user,
never from a request parameter.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import QuerySet
from django.http import Http404

from qingshou.org.models import Role

# What each role may do, beyond seeing its scope. Checked with `can(user, capability)`.
# "case.read" opens the case lists at all (the scope still decides which cases); admins lack it.
# "intake.manage": load placement and repayment files, recall cases, download recall files.
# "compliance.view": the compliance officer's screens (decision log, refusals, policy layers);
# "compliance.edit": publish a new version of a policy layer.
# "dialer.feed": GET /api/v1/dialer/next, full numbers of one's own queue for a dialer (audited per call).
# "templates.edit": write SMS/letter/voice templates and submit them for the creditor's approval (messaging);
# "sms.bulk": send an SMS to a segment of cases one may work (messaging).
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.COLLECTOR: frozenset({"case.read", "case.work", "pii.reveal", "queue.own", "dialer.feed"}),
    Role.TEAM_LEADER: frozenset({"case.read", "case.work", "case.reassign", "pii.reveal", "team.figures",
                                 "queue.own", "dialer.feed", "sms.bulk"}),
    Role.SUPERVISOR: frozenset({"case.read", "case.work", "case.reassign", "pii.reveal", "team.figures",
                                "intake.manage", "compliance.view", "compliance.edit", "templates.edit",
                                "sms.bulk"}),
    Role.QA: frozenset({"case.read", "pii.reveal", "compliance.view"}),
    Role.COMPLAINTS: frozenset({"case.read", "pii.reveal"}),
    Role.LAWYER: frozenset({"case.read", "pii.reveal"}),
    Role.CREDITOR: frozenset({"case.read"}),
    Role.ADMIN: frozenset({"configure", "intake.manage", "compliance.view", "compliance.edit", "templates.edit"}),
}


# Arrangements (qingshou.arrangements): "arrangement.review" decides the leader's stage of a plan or offer;
# "arrangement.approve" the creditor's stage (and only for the user's own creditor); "terms.edit" creditor terms.
CAPABILITIES[Role.TEAM_LEADER] = CAPABILITIES[Role.TEAM_LEADER] | {"arrangement.review"}
CAPABILITIES[Role.SUPERVISOR] = CAPABILITIES[Role.SUPERVISOR] | {"arrangement.review", "terms.edit"}
CAPABILITIES[Role.CREDITOR] = CAPABILITIES[Role.CREDITOR] | {"arrangement.approve"}
CAPABILITIES[Role.ADMIN] = CAPABILITIES[Role.ADMIN] | {"terms.edit"}

# Telephony (qingshou.telephony): click-to-call and result import need "case.work" on the case.
# "recording.play": listen to call recordings of visible cases (every play audited); the creditor's users
# do not (recordings hold third parties' voices and are the agency's QA evidence; they ask through QA).
# "calls.qa": the list of calls without a recording; "voice.campaign": run automated voice reminders.
for _role, _extra in {
    Role.COLLECTOR: {"recording.play"},
    Role.TEAM_LEADER: {"recording.play", "calls.qa", "voice.campaign"},
    Role.SUPERVISOR: {"recording.play", "calls.qa", "voice.campaign"},
    Role.QA: {"recording.play", "calls.qa"},
    Role.COMPLAINTS: {"recording.play"},
}.items():
    CAPABILITIES[_role] = CAPABILITIES[_role] | frozenset(_extra)
del _role, _extra

def _case_model():
    return apps.get_model("portfolio", "Case")


def can(user, capability: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return capability in CAPABILITIES.get(user.role, frozenset())


def visible_cases(user) -> QuerySet:
    """Cases the user may read, by role, team, branch and creditor."""
    Case = _case_model()
    qs = Case.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    role = user.role
    if role == Role.COLLECTOR:
        return qs.filter(assigned_to=user)
    if role == Role.TEAM_LEADER:
        return qs.filter(team_id=user.team_id) if user.team_id else qs.none()
    if role in (Role.SUPERVISOR, Role.QA, Role.COMPLAINTS):
        # Branch-wide. The complaints desk needs to find any debtor who calls in; QA reads, never writes.
        return qs.filter(team__branch_id=user.branch_id) if user.branch_id else qs.none()
    if role == Role.LAWYER:
        qs = qs.filter(status="legal")
        return qs.filter(team__branch_id=user.branch_id) if user.branch_id else qs
    if role == Role.CREDITOR:
        return qs.filter(creditor_id=user.creditor_id) if user.creditor_id else qs.none()
    # Admins configure the system; they do no case work and see no debtor data.
    return qs.none()


def workable_cases(user) -> QuerySet:
    """Cases the user may change (log contacts, take promises)."""
    if not can(user, "case.work"):
        return _case_model().objects.none()
    return visible_cases(user)


def get_visible_case(user, pk) -> object:
    """The case if the user may see it, else Http404 (never a hint that it exists)."""
    try:
        return visible_cases(user).select_related("debtor", "placement", "creditor", "team", "assigned_to").get(
            pk=pk
        )
    except (_case_model().DoesNotExist, ValueError, TypeError):
        raise Http404("no such case") from None


def visible_contacts(user) -> QuerySet:
    ContactAttempt = apps.get_model("contact", "ContactAttempt")
    return ContactAttempt.objects.filter(case__in=visible_cases(user).values("pk"))


def visible_promises(user) -> QuerySet:
    Promise = apps.get_model("payments", "Promise")
    return Promise.objects.filter(case__in=visible_cases(user).values("pk"))


def assignable_collectors(user) -> QuerySet:
    """Collectors the user may hand cases to: the leader's team, the supervisor's branch."""
    User = apps.get_model("org", "User")
    qs = User.objects.filter(is_active=True, role__in=[Role.COLLECTOR, Role.TEAM_LEADER])
    if not can(user, "case.reassign"):
        return qs.none()
    if user.role == Role.TEAM_LEADER:
        return qs.filter(team_id=user.team_id)
    return qs.filter(team__branch_id=user.branch_id)


def visible_teams(user) -> QuerySet:
    Team = apps.get_model("org", "Team")
    if not can(user, "team.figures"):
        return Team.objects.none()
    if user.role == Role.TEAM_LEADER:
        return Team.objects.filter(pk=user.team_id)
    return Team.objects.filter(branch_id=user.branch_id)


def visible_imports(user) -> QuerySet:
    """Intake runs (placement and repayment files) the user may see: those who manage intake see all."""
    Import = apps.get_model("portfolio", "Import")
    if not can(user, "intake.manage"):
        return Import.objects.none()
    return Import.objects.all()


def visible_decisions(user) -> QuerySet:
    """Stored compliance decisions for the compliance screens: those of the user's visible cases.

    Admins (who see no case) see every decision, but as bare case ids: the screens link a case only
    when it is in visible_cases(user).
    """
    ComplianceDecision = apps.get_model("compliance", "ComplianceDecision")
    if not can(user, "compliance.view"):
        return ComplianceDecision.objects.none()
    if user.role == Role.ADMIN:
        return ComplianceDecision.objects.all()
    return ComplianceDecision.objects.filter(case_id__in=visible_cases(user).values("pk"))
