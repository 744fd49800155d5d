"""The API token page: create (secret shown once), list, revoke; own tokens only."""

import pytest

from qingshou.core.models import ApiToken, AuditLog

pytestmark = pytest.mark.django_db


def test_create_token_shows_secret_once(world, client_for):
    c = client_for(world.collector)
    r = c.post("/tokens/", {"name": "外呼系统"})
    html = r.content.decode()
    token = ApiToken.objects.get(user=world.collector)
    secret = html.split('id="new-secret">')[1].split("<")[0]
    assert secret.startswith(f"qs_{token.prefix}_")
    assert "只显示这一次" in html
    assert secret not in c.get("/tokens/").content.decode()
    assert "外呼系统" in c.get("/tokens/").content.decode()


def test_token_name_required(world, client_for):
    r = client_for(world.collector).post("/tokens/", {"name": "  "})
    assert r.status_code == 200 and not ApiToken.objects.exists()
    r = client_for(world.collector).post("/tokens/", {"name": "x" * 500})
    assert r.status_code == 200 and not ApiToken.objects.exists()


def test_revoke_own_token_only(world, client_for):
    client_for(world.collector).post("/tokens/", {"name": "my-dialer"})
    token = ApiToken.objects.get(user=world.collector)
    other = client_for(world.collector_peer)
    assert other.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    assert "my-dialer" not in other.get("/tokens/").content.decode()
    c = client_for(world.collector)
    assert c.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditLog.objects.filter(action="token.revoke").count() == 1
    assert c.post(f"/tokens/{token.pk}/revoke/").status_code == 302  # again: harmless
    assert c.get(f"/tokens/{token.pk}/revoke/").status_code == 405
