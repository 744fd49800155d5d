"""Permission matrix of the telephony area: click-to-call, calls card, recordings, QA list, preview
export, results import, voice campaigns and the dialer's signed callback."""

import itertools

from tests.matrix.common import CASE_READ, CASE_WORK_WEB, Endpoint, rule

_seq = itertools.count(1)


def _recorded_contact(w, u):
    """A completed call on world.case with a stored recording (console-style bytes)."""
    from qingshou.telephony.actions import do_complete_call, do_place_call
    from qingshou.telephony.gateways import sine_wav

    party = w.case.debtor.parties.get(relation="self")
    result = do_place_call(w.case, party=party, phone=party.phones.first(), acting_user=w.collector)
    do_complete_call(result.call.call_id, duration=30, hangup_cause="NORMAL_CLEARING",
                     recording=sine_wav(seconds=0.2))
    return {"pk": result.call.contact_id}


def _script(w):
    from qingshou.messaging import actions

    v = actions.do_create_template(acting_user=w.supervisor, creditor=w.creditor_a, kind="voice",
                                   code=f"robot-{next(_seq)}", name="还款提醒",
                                   body="{debtor_name}您好，这里是{agency}，请尽快致电{hotline}。")
    v = actions.do_submit_version(v, acting_user=w.supervisor)
    return actions.do_approve_version(v, acting_user=w.creditor_user_a)


def _campaign_data(w, u):
    return {"creditor": w.creditor_a.pk, "segment": "early_stage", "script": _script(w).pk, "name": "矩阵"}


def _campaign_kwargs(w, u):
    from qingshou.telephony.models import VoiceCampaign

    c = VoiceCampaign.objects.create(name="m", creditor=w.creditor_a, segment="early_stage",
                                     script_version=_script(w), created_by=w.supervisor)
    return {"pk": c.pk}


def _import_data(w, u):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qingshou.telephony.actions import do_place_call

    party = w.case.debtor.parties.get(relation="self")
    call = do_place_call(w.case, party=party, phone=party.phones.first(), acting_user=w.collector).call
    csv_text = f"call_id,started_at,duration,result,recording\n{call.call_id},,0,NO_ANSWER,\n"
    return {"results": SimpleUploadedFile("r.csv", csv_text.encode(), content_type="text/csv")}


RECORDING = rule(404, collector=200, leader=200, supervisor=200, creditor_a=403)   # scope, then capability
CALLS_QA = rule(403, leader=200, supervisor=200)
CAMPAIGNS = rule(403, leader=200, supervisor=200)
CAMPAIGN_POST = rule(403, leader=302, supervisor=302)
# The campaign of creditor A: the leader and supervisor see creditor A's cases.
IMPORT_GET = rule(403, collector=200, collector_peer=200, collector_team2=200, leader=200, supervisor=200)
# The call in the file is c1's: others who may work cases get 200 with a row error ("unknown call id").
IMPORT_POST = rule(403, collector=302, collector_peer=200, collector_team2=200, leader=302, supervisor=302)
PREVIEW = rule(403, collector=200, collector_peer=200, collector_team2=200, leader=200)

WEB = [
    Endpoint("telephony:call", "post", CASE_WORK_WEB, audit="call.place", kwargs=lambda w, u: {"pk": w.case.pk},
             data=lambda w, u: {"phone": w.case.debtor.parties.get(relation="self").phones.first().pk}),
    Endpoint("telephony:case_calls", "get", CASE_READ, kwargs=lambda w, u: {"pk": w.case.pk}),
    Endpoint("telephony:recording", "get", RECORDING, audit="recording.play", kwargs=_recorded_contact),
    Endpoint("telephony:qa", "get", CALLS_QA),
    Endpoint("telephony:preview", "get", PREVIEW, audit="dialer.export"),
    Endpoint("telephony:import", "get", IMPORT_GET),
    Endpoint("telephony:import", "post", IMPORT_POST, audit="calls.import", audit_for=("collector", "leader",
                                                                                      "supervisor"),
             data=_import_data),
    Endpoint("telephony:campaigns", "get", CAMPAIGNS),
    Endpoint("telephony:campaigns", "post", CAMPAIGN_POST, audit="voice.campaign", data=_campaign_data),
    Endpoint("telephony:campaign", "get", CAMPAIGNS, kwargs=_campaign_kwargs),
    # The dialer's result callback: signed by the dialer, never by a session; a logged-in browser is refused.
    Endpoint("telephony_hooks:result", "post", rule(403), data=lambda w, u: {"call_id": "x", "duration": "1"}),
]
