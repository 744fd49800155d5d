import pytest

from tests.factories import World

pytest_plugins = ["tests.browser"]  # the page and browser_env fixtures of the e2e tests


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


@pytest.fixture
def office_hours():
    """Travel to 10:30 Asia/Shanghai on a fixed weekday so contact-hour rules never depend on when CI runs."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    with time_machine.travel(datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True) as t:
        yield t
