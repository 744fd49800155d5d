"""Logging a contact attempt from the case page (PRG on success; the case page again on errors)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingshou.contact.actions import do_log_contact
from qingshou.contact.forms import LogContactForm
from qingshou.core.errors import ActionError
from qingshou.core.scoping import get_visible_case, workable_cases
from qingshou.core.views import add_action_errors, deny
from qingshou.portfolio.views import case_context


@login_required
@require_POST
def log_contact(request, pk):
    case = get_visible_case(request.user, pk)
    if not workable_cases(request.user).filter(pk=case.pk).exists():
        deny(request, "case.work", case_id=case.pk)
    form = LogContactForm(request.POST, case=case)
    refusal = None
    if form.is_valid():
        try:
            result = do_log_contact(case, acting_user=request.user, **form.action_kwargs())
        except ActionError as exc:
            add_action_errors(form, exc)
        else:
            if result.saved:
                if result.promise is not None:
                    messages.success(request, _("Contact record saved, with a promise to pay."))
                else:
                    messages.success(request, _("Contact record saved."))
                return redirect("portfolio:case", pk=case.pk)
            refusal = result.decision
    case.refresh_from_db()
    ctx = case_context(request, case, form=form, refusal=refusal)
    return render(request, "portfolio/case_detail.html", ctx)
