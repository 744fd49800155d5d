"""Django admin for configuration: the registered models load, and debtor data stays masked."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/org/user/",
        "/admin/org/team/",
        "/admin/org/creditor/",
        "/admin/org/branch/",
        "/admin/portfolio/placement/",
        "/admin/portfolio/case/",
        "/admin/contact/outcomecode/",
        "/admin/core/auditlog/",
        "/admin/core/apitoken/",
        "/admin/compliance/compliancedecision/",
        "/admin/org/user/add/",
    ],
)
def test_admin_pages_load(world, client_for, url):
    assert client_for(world.admin).get(url).status_code == 200


def test_admin_case_list_masks_debtor(world, client_for):
    html = client_for(world.admin).get("/admin/portfolio/case/").content.decode()
    assert world.case.account_number in html
    assert world.case.debtor.name not in html and world.case.debtor.name[0] + "*" in html
    html = client_for(world.admin).get(f"/admin/portfolio/case/{world.case.pk}/change/").content.decode()
    assert world.case.debtor.id_number not in html and world.case.debtor.name not in html


def test_admin_is_not_for_collectors(world, client_for):
    r = client_for(world.collector).get("/admin/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
