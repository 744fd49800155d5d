"""Permission matrix: letter batches, PDFs and the dispatch register (team leaders and supervisors; lawyers too,
for lawyer's letters, but the matrix has no lawyer persona). Others get 403, audited."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.matrix.common import Endpoint, rule

LETTERS = rule(403, leader=200, supervisor=200)
LETTERS_POST = rule(403, leader=302, supervisor=302)


def _version(w):
    from qingshou.messaging.models import TemplateVersion
    from tests.test_letters import approved_template

    v = TemplateVersion.objects.filter(template__code="dunning", template__creditor=w.creditor_a).first()
    return v or approved_template(w)


def _letter(w):
    from qingshou.letters.actions import do_create_letter_batch, run_letter_batch
    from qingshou.letters.models import Letter
    from tests.test_letters import add_address

    add_address(w.case)
    batch = do_create_letter_batch([w.case.pk], kind="letter", version=_version(w), acting_user=w.supervisor)
    run_letter_batch(batch.pk)
    return Letter.objects.get(batch=batch, case=w.case)


def _letter_kwargs(w, u):
    return {"pk": _letter(w).pk}


def _batch_kwargs(w, u):
    return {"pk": _letter(w).batch_id}


def _import_data(w, u):
    letter = _letter(w)
    day = timezone.localdate().isoformat()
    csv = f"信函编号,承运商,运单号,寄出日期\r\nL{letter.batch_id:05d}-{letter.case_id},EMS,EA{u.pk}CN,{day}\r\n"
    return {"file": SimpleUploadedFile("运单.csv", csv.encode("gbk"))}


WEB = [
    Endpoint("letters:index", "get", LETTERS),
    Endpoint("letters:index", "post", LETTERS_POST, audit="letter.batch",
             data=lambda w, u: {"template": _version(w).pk, "bucket": ["M2"]}),
    Endpoint("letters:batch", "get", LETTERS, kwargs=_batch_kwargs),
    Endpoint("letters:pdf", "get", LETTERS, audit="letter.download", kwargs=_letter_kwargs),
    Endpoint("letters:register", "get", LETTERS),
    Endpoint("letters:import", "get", LETTERS),
    Endpoint("letters:import", "post", LETTERS_POST, audit="letter.import", data=_import_data),
    Endpoint("letters:dispatch", "get", LETTERS, kwargs=_letter_kwargs),
    Endpoint("letters:dispatch", "post", LETTERS_POST, audit="letter.dispatch", kwargs=_letter_kwargs,
             data=lambda w, u: {"status": "sent", "sent_on": timezone.localdate().isoformat(), "carrier": "EMS",
                                "tracking_number": "EA000000001CN"}),
]
