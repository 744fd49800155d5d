"""Plans and offers a user may see: those of the cases in their scope (qingshou.core.scoping decides)."""

from django.http import Http404

from qingshou.arrangements.models import Offer, RepaymentPlan
from qingshou.core.scoping import visible_cases


def visible_plans(user):
    return RepaymentPlan.objects.filter(case__in=visible_cases(user).values("pk"))


def visible_offers(user):
    return Offer.objects.filter(case__in=visible_cases(user).values("pk"))


def get_or_404(qs, pk):
    try:
        return qs.select_related("case", "case__creditor", "case__debtor").get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404("not found") from None
