"""Masking and the one scoping function."""

import pytest
from django.http import Http404

from qingshou.core.masking import mask_id_number, mask_name, mask_phone
from qingshou.core.scoping import assignable_collectors, get_visible_case, visible_cases, workable_cases
from qingshou.portfolio.models import Case


def test_mask_phone_and_id():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138-1234-5678") == "138****5678"
    assert mask_id_number("110101199003071234") == "110101********1234"
    assert mask_id_number("110101900307123") == "110101*****7123"
    assert "1990" not in mask_id_number("110101199003071234")
    assert mask_phone("") == "" and mask_id_number(None) == ""
    assert mask_name("欧阳娜娜") == "欧***"


@pytest.mark.parametrize("digits", ["13812345678", "02188886666", "0755-8888-6666", "95588"])
def test_masked_phone_never_shows_the_middle(digits):
    masked = mask_phone(digits)
    raw = "".join(ch for ch in digits if ch.isdigit())
    assert masked != raw and "*" in masked


def ids(qs):
    return set(qs.values_list("pk", flat=True))


def test_scope_by_role(world):
    w = world
    assert ids(visible_cases(w.collector)) == {w.case.pk}
    assert ids(visible_cases(w.collector_peer)) == {w.case_peer.pk}
    assert ids(visible_cases(w.leader)) == {w.case.pk, w.case_peer.pk}
    assert ids(visible_cases(w.supervisor)) == {w.case.pk, w.case_peer.pk, w.case_team2.pk}
    assert ids(visible_cases(w.qa)) == ids(visible_cases(w.supervisor))
    assert ids(visible_cases(w.creditor_user_a)) == {w.case.pk, w.case_peer.pk}
    assert ids(visible_cases(w.creditor_user_b)) == {w.case_team2.pk}
    assert ids(visible_cases(w.admin)) == set()
    assert ids(visible_cases(w.lawyer)) == set()
    Case.objects.filter(pk=w.case.pk).update(status="legal")
    assert ids(visible_cases(w.lawyer)) == {w.case.pk}


def test_read_only_roles_cannot_work(world):
    for user in (world.qa, world.desk, world.lawyer, world.creditor_user_a, world.admin):
        assert not workable_cases(user).exists()
    assert ids(workable_cases(world.leader)) == {world.case.pk, world.case_peer.pk}


def test_out_of_scope_is_404(world):
    with pytest.raises(Http404):
        get_visible_case(world.collector, world.case_peer.pk)
    with pytest.raises(Http404):
        get_visible_case(world.collector, "not-a-number")
    assert get_visible_case(world.collector, world.case.pk) == world.case


def test_inactive_user_sees_nothing(world):
    world.collector.is_active = False
    assert not visible_cases(world.collector).exists()


def test_assignable_collectors(world):
    assert set(assignable_collectors(world.leader)) == {world.collector, world.collector_peer, world.leader}
    assert world.collector_team2 in set(assignable_collectors(world.supervisor))
    assert not assignable_collectors(world.collector).exists()
