from django import template

register = template.Library()


@register.inclusion_tag("telephony/_case_calls.html", takes_context=True)
def case_calls(context, case):
    """The case page's "Calls and recordings" card (dialer calls, their state and recordings)."""
    from qingshou.telephony.views import case_calls_context

    return case_calls_context(context["request"].user, case)
