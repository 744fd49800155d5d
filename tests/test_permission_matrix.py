"""The permission matrix: every URL pattern and every API operation, for every persona.

Each endpoint declares what each persona must get (200/201/302 for the right persona, 403/404 for
the wrong one) and, for writes, the audit row an allowed call must leave. A refusal with 403 must
leave a `permission.denied` audit row. A URL or API operation that is added without a row here
fails `test_every_url_pattern_is_in_the_matrix` / `test_every_api_operation_is_in_the_matrix`.

The case under test is `world.case`: collector c1's case, team 1, creditor A.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from qingshou.api.api import operations
from qingshou.core.models import AuditLog
from qingshou.core.tokens import create_api_token
from qingshou.payments.actions import do_make_promise
from tests.matrix import extra_api, extra_web
from tests.matrix.common import (
    CASE_LISTS,
    CASE_READ,
    CASE_WORK_API,
    CASE_WORK_WEB,
    COMPLIANCE_VIEW,
    OWN_QUEUE,
    PERSONAS,
    TEAM_FIGURES,
    Endpoint,
    rule,
)


def _case_kwargs(w, u):
    return {"pk": w.case.pk}


def _debtor_phone(w):
    party = w.case.debtor.parties.get(relation="self")
    return party, party.phones.first()


def _log_data(w, u):
    party, phone = _debtor_phone(w)
    from qingshou.contact.models import OutcomeCode

    return {
        "party": party.pk, "phone": phone.pk, "channel": "call", "direction": "out",
        "started_at": timezone.localtime(timezone.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "duration_seconds": 30, "outcome": OutcomeCode.objects.get(code="no_answer").pk, "notes": "无人接听",
    }


def _policy_data(w, u):
    """The house layer's edit form as posted: its published parameters, one changed, and a note."""
    from qingshou.compliance.forms import PolicyLayerForm
    from qingshou.compliance.models import PolicyLayerVersion

    row = PolicyLayerVersion.objects.get(name="house", status="published")
    form = PolicyLayerForm(params=row.params)
    data = {k: ("on" if v is True else v) for k, v in form.initial.items() if v not in (None, False, "", [])}
    data.update({"max_calls_per_party_day": "4", "note": "矩阵测试：每人每日最多 4 次"})
    return data


def _token_kwargs(w, u):
    token, _ = create_api_token(w.collector, "matrix", acting_user=w.collector)
    return {"pk": token.pk}


# Case-page helpers (phone list, reveal, pre-check): those who may work the case; 403 for read-only.
CASE_PEEK = rule(404, collector=200, leader=200, supervisor=200, creditor_a=403)

# Intake (placement and repayment files, recall): supervisors and admins only.
INTAKE = rule(403, supervisor=200, admin=200)
INTAKE_POST = rule(403, supervisor=302, admin=302)


def _payment_csv(w, txn="M1", account=None):
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    return f"卡号,交易流水号,还款金额,还款日期\r\n{account or w.case.account_number},{txn},10,{day}\r\n".encode("gbk")


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def _placement_csv():
    import csv
    import io

    from qingshou.portfolio.intake.sample import HEADERS, rows

    buf = io.StringIO()
    csv.writer(buf).writerows([HEADERS, *rows(2)])
    return buf.getvalue().encode("gbk")


def _stash_kwargs(w, u):
    from qingshou.portfolio.intake_views import stash_upload

    return {"token": stash_upload(_upload("委案.csv", _placement_csv()), user=u, creditor=w.creditor_a)}


def _mapping_data(w, u):
    from qingshou.portfolio.intake.profiles import synonym_mapping
    from qingshou.portfolio.intake.sample import HEADERS

    by_header = {h: k for k, h in synonym_mapping(HEADERS).items()}
    return {f"col_{i}": by_header.get(h, "") for i, h in enumerate(HEADERS)}


def _payment_import_kwargs(w, u, *, dry_run=False, unmatched=False):
    import io

    from qingshou.payments.intake import create_payment_import, run_payment_import

    data = _payment_csv(w, txn=f"K{u.pk}", account="NOPE" if unmatched else None)
    imp = create_payment_import(io.BytesIO(data), creditor=w.creditor_a, file_name="回款.csv", dry_run=dry_run)
    return {"pk": run_payment_import(imp.pk).pk}


WEB = [
    Endpoint("home", "get", rule(302)),
    Endpoint("login", "get", rule(302)),
    Endpoint("logout", "post", rule(302)),
    Endpoint("core:tokens", "get", rule(200)),
    Endpoint("core:tokens", "post", rule(200), audit="token.create", data=lambda w, u: {"name": "矩阵测试"}),
    Endpoint("core:token_revoke", "post", rule(404, collector=302), audit="token.revoke", kwargs=_token_kwargs),
    Endpoint("portfolio:list", "get", CASE_LISTS),
    Endpoint("portfolio:queue", "get", OWN_QUEUE),
    Endpoint("portfolio:get_next", "post", rule(403, collector=302, collector_peer=302, collector_team2=302,
                                                leader=302),
             audit="case.get_next", audit_for=("collector", "collector_peer", "collector_team2")),
    Endpoint("portfolio:case", "get", CASE_READ, kwargs=_case_kwargs),
    Endpoint("portfolio:phone_options", "get", CASE_PEEK,
             kwargs=_case_kwargs),
    Endpoint("portfolio:reveal", "get", CASE_PEEK, kwargs=_case_kwargs,
             query=lambda w, u: {"what": "id_number"}),
    Endpoint("portfolio:reveal", "post", CASE_PEEK, kwargs=_case_kwargs,
             audit="pii.reveal", data=lambda w, u: {"what": f"phone:{_debtor_phone(w)[1].pk}", "reason": "核实号码"}),
    Endpoint("contact:log", "post", CASE_WORK_WEB, kwargs=_case_kwargs, audit="contact.log", data=_log_data),
    Endpoint("intake:index", "get", INTAKE),
    Endpoint("intake:placement_upload", "get", INTAKE),
    Endpoint("intake:placement_upload", "post", INTAKE_POST, audit="import.upload",
             data=lambda w, u: {"creditor": w.creditor_a.pk, "file": _upload("委案.csv", _placement_csv())}),
    Endpoint("intake:placement_mapping", "get", INTAKE, kwargs=_stash_kwargs),
    Endpoint("intake:placement_mapping", "post", INTAKE_POST, audit="import.create", kwargs=_stash_kwargs,
             data=_mapping_data),
    Endpoint("intake:payment_upload", "get", INTAKE),
    Endpoint("intake:payment_upload", "post", INTAKE_POST, audit="import.create",
             data=lambda w, u: {"creditor": w.creditor_a.pk, "file": _upload("回款.csv", _payment_csv(w))}),
    Endpoint("intake:recall", "get", INTAKE),
    Endpoint("intake:recall", "post", INTAKE, audit="case.recall",
             data=lambda w, u: {"op": "recall", "creditor": w.creditor_a.pk, "reason": "甲方退案",
                                "file": _upload("退案.csv", f"卡号\r\n{w.case.account_number}\r\n".encode())}),
    Endpoint("intake:recall_file", "get", INTAKE, audit="recall.file",
             query=lambda w, u: {"creditor": w.creditor_a.pk}),
    Endpoint("intake:detail", "get", INTAKE, kwargs=_payment_import_kwargs),
    Endpoint("intake:status", "get", INTAKE, kwargs=_payment_import_kwargs),
    Endpoint("intake:error_report", "get", INTAKE, audit="import.error_report",
             kwargs=lambda w, u: _payment_import_kwargs(w, u, unmatched=True)),
    Endpoint("intake:run_for_real", "post", INTAKE_POST, audit="import.create",
             kwargs=lambda w, u: _payment_import_kwargs(w, u, dry_run=True)),
    Endpoint("portfolio:precheck", "get", CASE_PEEK, kwargs=_case_kwargs,
             query=lambda w, u: {"party": _debtor_phone(w)[0].pk, "phone": _debtor_phone(w)[1].pk,
                                 "channel": "call"}),
    Endpoint("compliance:decisions", "get", COMPLIANCE_VIEW),
    Endpoint("compliance:refusals", "get", COMPLIANCE_VIEW),
    Endpoint("compliance:policies", "get", COMPLIANCE_VIEW),
    Endpoint("compliance:policy_layer", "get", COMPLIANCE_VIEW, kwargs=lambda w, u: {"name": "house"}),
    Endpoint("compliance:policy_layer", "post", rule(403, supervisor=302, admin=302), audit="policy.publish",
             kwargs=lambda w, u: {"name": "house"}, data=_policy_data),
    Endpoint("reports:team", "get", TEAM_FIGURES),
    Endpoint("reports:team", "post", rule(403, leader=302, supervisor=302), audit="case.reassign",
             data=lambda w, u: {"op": "reassign", "to_user": w.collector_peer.pk, "reason": "矩阵测试调案",
                                "case_ids": [w.case.pk], "team": w.team1.pk}),
]


def _promise_kwargs(w, u):
    p = do_make_promise(w.case, amount=Decimal("100.00"), due_date=timezone.localdate() + timedelta(days=2),
                        acting_user=w.collector)
    return {"case_id": w.case.pk, "promise_id": p.pk}


def _api_contact(w, u):
    party, phone = _debtor_phone(w)
    return {"party_id": party.pk, "phone_id": phone.pk, "channel": "call", "outcome": "no_answer",
            "started_at": (timezone.now() - timedelta(minutes=5)).isoformat(), "notes": "无人接听"}


def _dialer_items(w, u):
    party, phone = _debtor_phone(w)
    return {"items": [{"case_id": w.case.pk, "party_id": party.pk, "phone_id": phone.pk, "channel": "call"}]}


API = {
    "me": Endpoint("/me", "get", rule(200)),
    # the feed: own queue, full numbers, dialer.feed only (collectors, team leaders); one audit row per call
    "dialer_next": Endpoint("/dialer/next", "get", rule(403, collector=200, collector_peer=200, collector_team2=200,
                                                       leader=200), audit="dialer.feed"),
    # the batch check: anyone who works cases (items outside their scope come back "not_found")
    "dialer_check": Endpoint("/dialer/check", "post", rule(403, collector=200, collector_peer=200,
                                                          collector_team2=200, leader=200, supervisor=200),
                             audit="dialer.check", data=_dialer_items, json=True),
    "outcome_list": Endpoint("/outcomes", "get", rule(200)),
    "cases_mine": Endpoint("/cases/mine", "get", OWN_QUEUE),
    "cases_list": Endpoint("/cases", "get", CASE_LISTS),
    "promise_list": Endpoint("/promises", "get", CASE_LISTS),
    "case_detail": Endpoint("/cases/{case_id}", "get", CASE_READ),
    "contact_list": Endpoint("/cases/{case_id}/contacts", "get", CASE_READ),
    "contact_create": Endpoint("/cases/{case_id}/contacts", "post", CASE_WORK_API, audit="contact.log",
                               data=_api_contact, json=True),
    "promise_create": Endpoint("/cases/{case_id}/promises", "post", CASE_WORK_API, audit="promise.create",
                               data=lambda w, u: {"amount": "500.00",
                                                  "due_date": str(timezone.localdate() + timedelta(days=3))},
                               json=True),
    "promise_cancel": Endpoint("/cases/{case_id}/promises/{promise_id}/cancel", "post",
                               {**CASE_WORK_API, "collector": 200, "leader": 200, "supervisor": 200},
                               audit="promise.cancel",
                               kwargs=_promise_kwargs, data=lambda w, u: {"reason": "客户改约"}, json=True),
}


# Each area declares its own endpoints in tests/matrix/<area>.py (WEB list, API dict).
WEB += extra_web()
API.update(extra_api())

def _named_patterns(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            prefix = str(p.pattern)
            if prefix.startswith(("admin/", "api/", "i18n/")):
                continue
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _named_patterns(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            if p.name:
                yield f"{namespace}{p.name}"
            elif not str(p.pattern).startswith(("static", "media")):
                yield f"<unnamed {p.pattern}>"


def test_every_url_pattern_is_in_the_matrix():
    declared = {e.name for e in WEB}
    assert set(_named_patterns(get_resolver().url_patterns)) == declared


def test_every_api_operation_is_in_the_matrix():
    ops = {op_id for _, _, op_id in operations()}
    assert ops == set(API)
    for method, path, op_id in operations():
        assert (API[op_id].method.upper(), "/api/v1" + API[op_id].name) == (method, path)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _check(world, persona, endpoint, response, audit_before):
    expected = endpoint.expect[persona]
    assert response.status_code == expected, (
        f"{persona} {endpoint.method.upper()} {endpoint.name}: {response.status_code} != {expected}"
    )
    new = AuditLog.objects.filter(pk__gt=audit_before)
    if expected == 403:
        assert new.filter(action="permission.denied").exists(), "a refusal must be audited"
    needs_audit = endpoint.audit and expected in (200, 201, 302) and (
        not endpoint.audit_for or persona in endpoint.audit_for
    )
    if needs_audit:
        assert new.filter(action=endpoint.audit).exists(), f"no {endpoint.audit} audit row"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", WEB, ids=lambda e: f"{e.method}-{e.name}")
def test_web_matrix(office_hours, world, client, persona, endpoint):
    user = world.personas[persona]
    client.force_login(user)
    kwargs = endpoint.kwargs(world, user) if endpoint.kwargs else {}
    url = reverse(endpoint.name, kwargs=kwargs)
    before = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if endpoint.method == "get":
        response = client.get(url, endpoint.query(world, user) if endpoint.query else {})
    else:
        response = client.post(url, endpoint.data(world, user) if endpoint.data else {})
    _check(world, persona, endpoint, response, before)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("op_id", sorted(API))
def test_api_matrix(office_hours, world, client, persona, op_id):
    endpoint = API[op_id]
    user = world.personas[persona]
    _, secret = create_api_token(user, "matrix", acting_user=user)
    kwargs = endpoint.kwargs(world, user) if endpoint.kwargs else {"case_id": world.case.pk}
    url = "/api/v1" + endpoint.name.format(**kwargs)
    before = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if endpoint.method == "get":
        response = client.get(url, **headers)
    else:
        response = client.post(url, endpoint.data(world, user) if endpoint.data else {},
                               content_type="application/json", **headers)
    _check(world, persona, endpoint, response, before)


@pytest.mark.parametrize("endpoint", [e for e in WEB if e.name not in ("login", "logout") and not e.public],
                         ids=lambda e: f"{e.method}-{e.name}")
def test_anonymous_is_sent_to_login(office_hours, world, client, endpoint):
    kwargs = endpoint.kwargs(world, world.collector) if endpoint.kwargs else {}
    r = getattr(client, endpoint.method)(reverse(endpoint.name, kwargs=kwargs))
    assert r.status_code == 302 and "/login/" in r["Location"], endpoint.name


def test_anonymous_api_gets_401(db, client):
    assert client.get("/api/v1/cases").status_code == 401
