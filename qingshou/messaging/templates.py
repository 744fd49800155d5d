"""Message templates: the interface other channels use (SMS, letters, lawyer letters, voice scripts).

    version = approved_version(creditor, TemplateKind.SMS, "reminder")   # ActionError if none usable
    text = render(version, {"debtor_name": "张三", "amount": "1,000.00"})
    names = placeholders("您好{debtor_name}")                              # ["debtor_name"]

Placeholders are `{name}` with a name from `PLACEHOLDERS`; `{{` and `}}` are literal braces. A
template flagged "safe for third parties" may use only `SAFE_PLACEHOLDERS` (no debt details).
Only a version that is approved by a user of the template's creditor AND active can be used;
the compliance engine sees the same facts through `compliance_template()`.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingshou.core.errors import ActionError
from qingshou.messaging.models import Kind, MessageTemplate, TemplateVersion


class TemplateKind:
    SMS = Kind.SMS.value
    LETTER = Kind.LETTER.value
    LAWYER_LETTER = Kind.LAWYER_LETTER.value
    VOICE = Kind.VOICE.value


# Allowed placeholders and what they mean (shown on the edit page; documented in the README).
PLACEHOLDERS: dict[str, object] = {
    "debtor_name": gettext_lazy("the debtor's name"),
    "party_name": gettext_lazy("the recipient's name (debtor or third party)"),
    "amount": gettext_lazy("amount due (debt detail)"),
    "account_tail": gettext_lazy("last 4 digits of the account (debt detail)"),
    "due_date": gettext_lazy("payment due date (debt detail)"),
    "case_ref": gettext_lazy("case / account reference (debt detail)"),
    "product": gettext_lazy("product name (debt detail)"),
    "creditor": gettext_lazy("the creditor's name (debt detail)"),
    "agency": gettext_lazy("our agency's name"),
    "hotline": gettext_lazy("our hotline"),
    "link": gettext_lazy("self-service link"),
    "collector": gettext_lazy("the collector's name"),
    "today": gettext_lazy("today's date"),
}
# Made-up values for previews of a template (no real data).
SAMPLE_VALUES = {
    "debtor_name": "张三", "party_name": "李四", "amount": "12,345.67", "account_tail": "8866",
    "due_date": "2026-12-01", "case_ref": "100234", "product": "信用卡", "creditor": "甲银行信用卡中心",
    "agency": "清收", "hotline": "400-000-0000", "link": "https://example.invalid/s/AbC123", "collector": "王五",
    "today": "2026-11-18",
}
DEBT_PLACEHOLDERS = frozenset({"amount", "account_tail", "due_date", "case_ref", "product", "creditor"})
SAFE_PLACEHOLDERS = frozenset(PLACEHOLDERS) - DEBT_PLACEHOLDERS

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
# Engine template kinds (compliance.types.Template.kind).
ENGINE_KIND = {Kind.SMS: "sms", Kind.LETTER: "letter", Kind.LAWYER_LETTER: "letter", Kind.VOICE: "script"}


def _braced(names) -> str:
    return ", ".join("{" + n + "}" for n in names)


def placeholders(text: str) -> list[str]:
    """The placeholder names used in `text`, in order of first use, without duplicates."""
    seen: list[str] = []
    for m in _PLACEHOLDER.finditer(text or ""):
        name = m.group(1)
        if name is not None and name.strip() not in seen:
            seen.append(name.strip())
    return seen


def validate_body(body: str, *, safe_for_third_parties: bool) -> None:
    """Raise ActionError({"body": …}) for unknown placeholders, stray braces or debt details in a safe template."""
    if not (body or "").strip():
        raise ActionError({"body": _("The text is empty.")})
    stripped = _PLACEHOLDER.sub("", body)
    if "{" in stripped or "}" in stripped:
        raise ActionError({"body": _("Unbalanced brace: write placeholders as {name}, literal braces as {{ }}.")})
    names = placeholders(body)
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        raise ActionError({"body": _("Unknown placeholder(s): %(names)s.") % {
            "names": _braced(unknown)}})
    if safe_for_third_parties:
        debt = [n for n in names if n in DEBT_PLACEHOLDERS]
        if debt:
            raise ActionError({"body": _(
                "A template safe for third parties may not contain debt details: %(names)s.") % {
                "names": _braced(debt)}})


def approved_version(creditor, kind: str, code: str) -> TemplateVersion:
    """The approved, active version of the creditor's template `code` of this kind, else ActionError."""
    creditor_id = getattr(creditor, "pk", creditor)
    version = (
        TemplateVersion.objects.select_related("template", "template__creditor")
        .filter(template__creditor_id=creditor_id, template__kind=kind, template__code=code,
                status=TemplateVersion.Status.APPROVED, active=True)
        .first()
    )
    if version is None:
        raise ActionError({"template": _("No approved, active template “%(code)s” for this creditor.") % {
            "code": code}})
    return version


def usable_versions(creditor, kind: str, *, third_party: bool = False):
    """Approved active versions of the creditor's templates of `kind` (third party: only safe ones)."""
    qs = TemplateVersion.objects.select_related("template").filter(
        template__creditor_id=getattr(creditor, "pk", creditor), template__kind=kind,
        status=TemplateVersion.Status.APPROVED, active=True,
    ).order_by("template__code")
    if third_party:
        qs = qs.filter(template__safe_for_third_parties=True)
    return qs


def render(version: TemplateVersion | str, context: dict) -> str:
    """Fill the placeholders of a version (or a bare text) from `context`; ActionError names a missing one."""
    body = version if isinstance(version, str) else version.body
    missing = [n for n in placeholders(body) if context.get(n) in (None, "")]
    if missing:
        raise ActionError({"template": _("Missing value for placeholder(s): %(names)s.") % {
            "names": _braced(missing)}})

    def fill(m):
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return str(context[m.group(1).strip()])

    return _PLACEHOLDER.sub(fill, body)


def compliance_template(template_id: int | None):
    """The compliance engine's view of a template version (compliance.types.Template), or None."""
    from qingshou.compliance.types import Template

    if template_id is None:
        return None
    row = (TemplateVersion.objects.filter(pk=template_id)
           .values_list("pk", "template__kind", "status", "active", "template__safe_for_third_parties",
                        "template__creditor_id").first())
    if row is None:
        return None
    pk, kind, status, active, safe, creditor_id = row
    return Template(id=pk, kind=ENGINE_KIND.get(kind, kind), approved=status == TemplateVersion.Status.APPROVED,
                    active=bool(active), third_party_safe=bool(safe), creditor_id=creditor_id)


__all__ = ["DEBT_PLACEHOLDERS", "PLACEHOLDERS", "SAFE_PLACEHOLDERS", "SAMPLE_VALUES", "MessageTemplate", "TemplateKind",
           "TemplateVersion", "approved_version", "compliance_template", "placeholders", "render",
           "usable_versions", "validate_body"]
