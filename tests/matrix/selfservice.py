"""Permission matrix: debtor self-service.

Staff pages (issue / revoke links of a case) follow the case-work rules. The debtor's pages are public: the
signed link is the key and the identity check the gate, so every persona (and an anonymous visitor) gets the
same answer — 200 for the identity page of a valid link, 302 back to it without a confirmed identity, 403
(audited as permission.denied) for a bad link. These endpoints carry `public = True`; the anonymous check of
test_permission_matrix.py (which expects a redirect to the staff login) must skip them, and
tests/test_selfservice_public.py checks that an anonymous visitor gets the same as every persona.
"""

from tests.matrix.common import Endpoint, rule

CASE_LINKS = rule(404, collector=200, leader=200, supervisor=200, creditor_a=403)


def _link(w):
    from qingshou.selfservice.actions import do_issue_link

    return do_issue_link(w.case, acting_user=w.collector).link


def _token(w, u):
    from qingshou.selfservice.actions import link_token

    return {"token": link_token(_link(w))}


def _bad_token(w, u):
    return {"token": "forged:token:value"}


def _identity(w, u):
    return {"id_last4": w.case.debtor.id_number[-4:], "birth_date": "1990-01-01"}


def _public(endpoint):
    endpoint.public = True
    return endpoint


STAFF = [
    Endpoint("selfservice:case_links", "get", CASE_LINKS, kwargs=lambda w, u: {"pk": w.case.pk}),
    Endpoint("selfservice:case_links", "post", CASE_LINKS, audit="selfservice.link",
             kwargs=lambda w, u: {"pk": w.case.pk}, data=lambda w, u: {}),
    Endpoint("selfservice:revoke", "post", rule(404, collector=302, leader=302, supervisor=302, creditor_a=403),
             audit="selfservice.revoke", kwargs=lambda w, u: {"pk": _link(w).pk}),
]

PUBLIC = [_public(e) for e in [
    Endpoint("selfservice:verify", "get", rule(200), kwargs=_token),
    Endpoint("selfservice:verify", "post", rule(302), audit="selfservice.verify", kwargs=_token, data=_identity),
    Endpoint("selfservice:verify", "get", rule(403), kwargs=_bad_token),
    Endpoint("selfservice:home", "get", rule(302), kwargs=_token),
    Endpoint("selfservice:home", "get", rule(403), kwargs=_bad_token),
    Endpoint("selfservice:promise", "post", rule(302), kwargs=_token, data=lambda w, u: {"amount": "1"}),
    Endpoint("selfservice:promise", "post", rule(403), kwargs=_bad_token),
    Endpoint("selfservice:plan", "post", rule(302), kwargs=_token),
    Endpoint("selfservice:dispute", "post", rule(302), kwargs=_token),
    Endpoint("selfservice:dispute", "post", rule(403), kwargs=_bad_token),
    Endpoint("selfservice:quiet", "post", rule(302), kwargs=_token),
    Endpoint("selfservice:leave", "post", rule(302), kwargs=_token),
]]

WEB = STAFF + PUBLIC
