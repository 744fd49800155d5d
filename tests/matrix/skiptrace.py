"""Permission matrix of skip tracing (失联修复): work list, a case's leads, the report, enrichment files."""

from tests.matrix.common import CASE_WORK_API, CASE_WORK_WEB, TEAM_FIGURES, Endpoint, rule

WORKERS = rule(403, collector=200, collector_peer=200, collector_team2=200, leader=200, supervisor=200)
CASE_PAGE = rule(404, collector=200, leader=200, supervisor=200, creditor_a=403)
INTAKE = rule(403, supervisor=200, admin=200)
INTAKE_POST = rule(403, supervisor=302, admin=302)


def _case_kwargs(w, u):
    return {"pk": w.case.pk}


def _lead_kwargs(w, u):
    from qingshou.skiptrace.actions import do_add_lead

    lead = do_add_lead(w.case, kind="phone", source="committee", number="13700001111", acting_user=w.collector)
    return {"pk": lead.pk}


def _import_kwargs(w, u):
    import io

    from qingshou.skiptrace.enrichment import do_import_enrichment

    data = f"卡号,电话\r\n{w.case.account_number},13700002222\r\nNOPE,13700003333\r\n".encode("gbk")
    return {"pk": do_import_enrichment(io.BytesIO(data), creditor=w.creditor_a, acting_user=w.supervisor,
                                       file_name="补充.csv").pk}


def _upload(w, u):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = f"卡号,电话,来源\r\n{w.case.account_number},13700004444,甲方\r\n".encode("gbk")
    return {"creditor": w.creditor_a.pk, "file": SimpleUploadedFile("补充.csv", data)}


WEB = [
    Endpoint("skiptrace:worklist", "get", WORKERS),
    Endpoint("skiptrace:case", "get", CASE_PAGE, kwargs=_case_kwargs),
    Endpoint("skiptrace:add_lead", "post", CASE_WORK_WEB, audit="skiptrace.lead_add", kwargs=_case_kwargs,
             data=lambda w, u: {"kind": "phone", "value": "13700005555", "source": "dir114",
                                "verification": "unverified"}),
    Endpoint("skiptrace:verify_lead", "post", CASE_WORK_WEB, audit="skiptrace.lead_verify", kwargs=_lead_kwargs,
             data=lambda w, u: {"verification": "verified"}),
    Endpoint("skiptrace:report", "get", TEAM_FIGURES),
    Endpoint("skiptrace:import", "get", INTAKE),
    Endpoint("skiptrace:import", "post", INTAKE_POST, audit="skiptrace.import", data=_upload),
    Endpoint("skiptrace:import_detail", "get", INTAKE, kwargs=_import_kwargs),
]

API = {
    "lead_create": Endpoint("/cases/{case_id}/leads", "post", CASE_WORK_API, audit="skiptrace.lead_add",
                            data=lambda w, u: {"kind": "phone", "value": "13700006666", "source": "property"},
                            json=True),
}
