import pytest

from tests.factories import World


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def outcomes(db):
    from qingshou.contact.models import OutcomeCode

    return {o.code: o for o in OutcomeCode.objects.all()}


@pytest.fixture
def client_for(client):
    """client_for(user) -> a test client logged in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
