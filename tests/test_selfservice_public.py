"""The debtor's self-service pages are public: an anonymous visitor gets exactly what every staff persona
gets (tests/matrix/selfservice.py declares it per persona), never the staff login, and a bad link's 403 is
audited as permission.denied."""

import pytest
from django.urls import reverse

from qingshou.core.models import AuditLog
from tests.matrix.selfservice import PUBLIC


@pytest.mark.parametrize("endpoint", PUBLIC, ids=lambda e: f"{e.method}-{e.name}-{set(e.expect.values())}")
def test_anonymous_gets_the_same_as_every_persona(world, client, endpoint):
    expected = set(endpoint.expect.values())
    assert len(expected) == 1                               # the same for every persona
    kwargs = endpoint.kwargs(world, None)
    before = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    data = endpoint.data(world, None) if endpoint.data else {}
    r = client.get(reverse(endpoint.name, kwargs=kwargs)) if endpoint.method == "get" else client.post(
        reverse(endpoint.name, kwargs=kwargs), data)
    assert r.status_code == expected.pop()
    if r.status_code == 302:
        assert "/login/" not in r["Location"] and "/s/" in r["Location"]
    if r.status_code == 403:
        assert AuditLog.objects.filter(pk__gt=before, action="permission.denied",
                                       reason__startswith="selfservice.link").exists()
    if endpoint.audit:
        assert AuditLog.objects.filter(pk__gt=before, action=endpoint.audit).exists()
