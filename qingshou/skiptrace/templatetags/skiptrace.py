from django import template
from django.urls import reverse

from qingshou.core.scoping import workable_cases

register = template.Library()


@register.inclusion_tag("skiptrace/_case_card.html", takes_context=True)
def skiptrace_card(context, case):
    """The case page's skip-tracing card: the lost-contact flag, the leads count, and the add form."""
    from qingshou.skiptrace.forms import LeadForm
    from qingshou.skiptrace.models import Lead, LostContact

    request = context.get("request")
    user = getattr(request, "user", None)
    workable = bool(user) and workable_cases(user).filter(pk=case.pk).exists()
    return {
        "case": case,
        "open_flag": LostContact.objects.filter(case=case, cleared_at__isnull=True).first(),
        "n_leads": Lead.objects.filter(case=case).count(),
        "form": LeadForm(case=case, prefix="st") if workable else None,
        "next": reverse("portfolio:case", args=[case.pk]),
        "csrf_token": context.get("csrf_token"),
    }
