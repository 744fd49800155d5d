"""Permission matrix of the messaging area: templates (edit, submit, approve), SMS (case page, bulk), hooks."""

import itertools

from tests.matrix.common import Endpoint, rule

EDITORS = rule(403, supervisor=200, admin=200)
EDITORS_POST = rule(403, supervisor=302, admin=302)
# A template of creditor A: editors and creditor A's users see it; creditor B's users get 404.
TEMPLATE_READ = rule(403, supervisor=200, admin=200, creditor_a=200, creditor_b=404)
TEMPLATE_EDIT = rule(403, supervisor=302, admin=302, creditor_b=404)
TEMPLATE_APPROVE = rule(403, creditor_a=302, creditor_b=404)
CASE_SMS = rule(404, collector=200, leader=200, supervisor=200, creditor_a=403)
CASE_SMS_POST = rule(404, collector=302, leader=302, supervisor=302, creditor_a=403)
BULK = rule(403, leader=200, supervisor=200)
BULK_POST = rule(403, leader=302, supervisor=302)
BODY = "【{agency}】{debtor_name}您好，您尾号{account_tail}的账户欠款{amount}元，请致电{hotline}。"


_seq = itertools.count(1)


def _version(w, status="draft"):
    from qingshou.messaging import actions

    code = f"m-remind-{next(_seq)}"
    v = actions.do_create_template(acting_user=w.supervisor, creditor=w.creditor_a, kind="sms", code=code,
                                   name="矩阵提醒", body=BODY)
    if status in ("pending", "approved"):
        v = actions.do_submit_version(v, acting_user=w.supervisor)
    if status == "approved":
        v = actions.do_approve_version(v, acting_user=w.creditor_user_a)
    return v


def _template_kwargs(w, u):
    return {"pk": _version(w).template_id}


def _sms_data(w, u):
    party = w.case.debtor.parties.get(relation="self")
    return {"party": party.pk, "phone": party.phones.first().pk, "template": _version(w, "approved").pk}


def _batch_kwargs(w, u):
    from qingshou.messaging.models import SmsBatch

    batch = SmsBatch.objects.create(template_version=_version(w, "approved"), created_by=w.leader, total=1,
                                    criteria={"case_ids": [w.case.pk]})
    return {"pk": batch.pk}


WEB = [
    Endpoint("messaging:templates", "get", rule(403, supervisor=200, admin=200, creditor_a=200, creditor_b=200)),
    Endpoint("messaging:template_new", "get", EDITORS),
    Endpoint("messaging:template_new", "post", EDITORS_POST, audit="template.create",
             data=lambda w, u: {"creditor": w.creditor_a.pk, "kind": "sms", "code": "new-one", "name": "新模板",
                                "body": BODY}),
    Endpoint("messaging:template", "get", TEMPLATE_READ, kwargs=_template_kwargs),
    Endpoint("messaging:template", "post", TEMPLATE_EDIT, audit="template.edit", kwargs=_template_kwargs,
             data=lambda w, u: {"name": "矩阵提醒", "body": "{debtor_name}您好，请致电{hotline}。"}),
    Endpoint("messaging:template_retire", "post", TEMPLATE_EDIT, audit="template.retire", kwargs=_template_kwargs,
             data=lambda w, u: {"reason": "停用"}),
    Endpoint("messaging:version_submit", "post", TEMPLATE_EDIT, audit="template.submit",
             kwargs=lambda w, u: {"pk": _version(w).pk}),
    Endpoint("messaging:version_review", "post", TEMPLATE_APPROVE, audit="template.approve",
             kwargs=lambda w, u: {"pk": _version(w, "pending").pk}, data=lambda w, u: {"op": "approve"}),
    Endpoint("messaging:case_sms", "get", CASE_SMS, kwargs=lambda w, u: {"pk": w.case.pk}),
    Endpoint("messaging:case_sms", "post", CASE_SMS_POST, audit="sms.send", kwargs=lambda w, u: {"pk": w.case.pk},
             data=_sms_data),
    Endpoint("messaging:bulk", "get", BULK),
    Endpoint("messaging:bulk", "post", BULK_POST, audit="sms.batch",
             data=lambda w, u: {"template": _version(w, "approved").pk, "case_ids": str(w.case.pk)}),
    Endpoint("messaging:batch", "get", BULK, kwargs=_batch_kwargs),
    # Gateway callbacks: signed by the gateway, never by a session; a logged-in browser is refused (audited).
    Endpoint("sms_hooks:receipt", "post", rule(403), data=lambda w, u: {"message_id": "x", "status": "DELIVERED"},
             public=True),
    Endpoint("sms_hooks:inbound", "post", rule(403), data=lambda w, u: {"phone": "13800000000", "text": "TD"},
             public=True),
]
