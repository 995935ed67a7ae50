"""Opportunity services: create, edit, stage moves with their history, the board."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.parties.models import Party
from lendcrm.pipeline import selectors, services
from lendcrm.pipeline.models import Opportunity, StageChange
from tests.pipeline.conftest import opportunity_data

pytestmark = pytest.mark.django_db


def state(opportunity: Opportunity) -> tuple:
    fresh = Opportunity.objects.get(pk=opportunity.pk)
    return (fresh.stage, fresh.version, fresh.probability, fresh.lost_reason, StageChange.objects.count())


def test_a_new_opportunity_starts_in_qualify_with_its_history_and_audit(rm_a: User, party_a: Party) -> None:
    created = services.create_opportunity(
        actor=rm_a, party_id=party_a.pk, data=opportunity_data(products=["term_loan", "fx_hedging"])
    )

    assert (created.stage, created.probability, created.owner_id) == ("qualify", 10, rm_a.pk)
    assert sorted(p.code for p in created.products.all()) == ["fx_hedging", "term_loan"]
    change = StageChange.objects.get()
    assert (change.from_stage, change.to_stage, change.changed_by_id) == ("", "qualify", rm_a.pk)
    assert AuditEvent.objects.get(action="opportunity.created").party_id == party_a.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"products": []}, "products"),
        ({"products": ["nope"]}, "products.0"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"probability": 101}, "probability"),
        ({"expected_close": timezone.localdate() - timedelta(days=1)}, "expected_close"),
    ],
)
def test_bad_opportunity_input_is_a_field_error(
    rm_a: User, party_a: Party, overrides: dict, field: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        services.create_opportunity(actor=rm_a, party_id=party_a.pk, data=opportunity_data(**overrides))
    assert field in refused.value.field_errors
    assert not Opportunity.objects.exists()


def test_an_opportunity_on_a_party_out_of_scope_is_not_found(rm_b: User, party_a: Party) -> None:
    with pytest.raises(errors.NotFound):
        services.create_opportunity(actor=rm_b, party_id=party_a.pk, data=opportunity_data())


def test_the_owner_must_see_the_party(rm_a: User, rm_b: User, party_a: Party) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        services.create_opportunity(actor=rm_a, party_id=party_a.pk, data=opportunity_data(owner=rm_b))
    assert "owner" in refused.value.field_errors


def test_moves_record_history_and_default_probabilities(rm_a: User, opportunity_a: Opportunity) -> None:
    moved = services.move_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, stage="needs_analysis")
    assert (moved.stage, moved.probability, moved.version) == ("needs_analysis", 25, 2)
    moved = services.move_opportunity(
        actor=rm_a, opportunity_id=opportunity_a.pk, stage="proposal", probability=60
    )
    assert moved.probability == 60
    moved = services.move_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, stage="won")

    assert (moved.stage, moved.probability) == ("won", 100)
    assert moved.closed_at is not None
    assert list(StageChange.objects.values_list("from_stage", "to_stage")) == [
        ("", "qualify"),
        ("qualify", "needs_analysis"),
        ("needs_analysis", "proposal"),
        ("proposal", "won"),
    ]
    assert AuditEvent.objects.filter(action="opportunity.moved").count() == 3


def test_lost_needs_a_reason(rm_a: User, opportunity_a: Opportunity) -> None:
    before = state(opportunity_a)
    with pytest.raises(errors.ValidationFailed) as refused:
        services.move_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, stage="lost")
    assert "lost_reason" in refused.value.field_errors
    assert state(opportunity_a) == before

    lost = services.move_opportunity(
        actor=rm_a,
        opportunity_id=opportunity_a.pk,
        stage="lost",
        lost_reason="price",
        lost_note="Cheaper elsewhere",
    )
    assert (lost.stage, lost.lost_reason, lost.lost_note, lost.probability) == (
        "lost",
        "price",
        "Cheaper elsewhere",
        0,
    )


@pytest.mark.parametrize(
    ("path", "target", "code"),
    [
        ([], "application", "application_via_proposal"),
        ([], "won", "illegal_stage_move"),
        (["proposal", "won"], "qualify", "opportunity_closed"),
        (["lost"], "proposal", "opportunity_closed"),
    ],
)
def test_illegal_moves_are_a_409_and_change_nothing(
    rm_a: User, opportunity_a: Opportunity, path: list[str], target: str, code: str
) -> None:
    for stage in path:
        services.move_opportunity(
            actor=rm_a,
            opportunity_id=opportunity_a.pk,
            stage=stage,
            lost_reason="price" if stage == "lost" else "",
        )
    before = state(opportunity_a)

    with pytest.raises(errors.Conflict) as refused:
        services.move_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, stage=target)
    assert refused.value.code == code
    assert refused.value.status == 409
    assert state(opportunity_a) == before


def test_moving_to_the_current_stage_changes_nothing(rm_a: User, opportunity_a: Opportunity) -> None:
    before = state(opportunity_a)
    services.move_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, stage="qualify")
    assert state(opportunity_a) == before


def test_a_stale_move_is_refused(rm_a: User, opportunity_a: Opportunity) -> None:
    services.update_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, changes={"title": "Phase 2"})
    with pytest.raises(errors.PreconditionFailed):
        services.move_opportunity(
            actor=rm_a, opportunity_id=opportunity_a.pk, stage="proposal", expected_version=1
        )
    assert Opportunity.objects.get().stage == "qualify"


def test_a_closed_opportunity_cannot_be_edited(rm_a: User, opportunity_a: Opportunity) -> None:
    services.move_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, stage="lost", lost_reason="timing")
    with pytest.raises(errors.Conflict):
        services.update_opportunity(actor=rm_a, opportunity_id=opportunity_a.pk, changes={"title": "Again"})


def test_update_replaces_products_and_is_audited(rm_a: User, opportunity_a: Opportunity) -> None:
    updated = services.update_opportunity(
        actor=rm_a,
        opportunity_id=opportunity_a.pk,
        changes={"products": ["working_capital"], "amount": Decimal("1.00"), "currency": "USD"},
        expected_version=1,
    )
    assert [p.code for p in updated.products.all()] == ["working_capital"]
    assert (updated.amount, updated.currency, updated.version) == (Decimal("1.00"), "USD", 2)
    event = AuditEvent.objects.get(action="opportunity.updated")
    assert event.changes["after"]["products"] == ["working_capital"]


def test_the_board_groups_by_stage_and_drops_old_closed_ones(rm_a: User, party_a: Party) -> None:
    open_one = services.create_opportunity(
        actor=rm_a, party_id=party_a.pk, data=opportunity_data(title="Open")
    )
    won = services.create_opportunity(actor=rm_a, party_id=party_a.pk, data=opportunity_data(title="Won"))
    services.move_opportunity(actor=rm_a, opportunity_id=won.pk, stage="proposal")
    services.move_opportunity(actor=rm_a, opportunity_id=won.pk, stage="won")
    old = services.create_opportunity(actor=rm_a, party_id=party_a.pk, data=opportunity_data(title="Old"))
    services.move_opportunity(actor=rm_a, opportunity_id=old.pk, stage="lost", lost_reason="timing")
    Opportunity.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=45))

    board = selectors.opportunity_board(viewer=rm_a)

    assert list(board) == ["qualify", "needs_analysis", "proposal", "application", "won", "lost"]
    assert board["qualify"] == [open_one]
    assert board["won"] == [won]
    assert board["lost"] == []


def test_the_board_is_empty_for_another_branch(rm_b: User, opportunity_a: Opportunity) -> None:
    assert not any(selectors.opportunity_board(viewer=rm_b).values())
    with pytest.raises(errors.NotFound):
        selectors.get_opportunity(viewer=rm_b, opportunity_id=opportunity_a.pk)
    with pytest.raises(errors.NotFound):
        services.move_opportunity(actor=rm_b, opportunity_id=opportunity_a.pk, stage="proposal")


def test_board_columns_are_cut_by_the_database_in_a_fixed_number_of_queries(
    rm_a: User, party_a: Party, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(selectors, "BOARD_COLUMN_LIMIT", 2)
    soon = timezone.localdate() + timedelta(days=5)
    made = [
        services.create_opportunity(
            actor=rm_a,
            party_id=party_a.pk,
            data=opportunity_data(title=f"#{i}", expected_close=soon + timedelta(days=i)),
        )
        for i in range(3)
    ]
    services.create_opportunity(actor=rm_a, party_id=party_a.pk, data=opportunity_data(expected_close=None))
    services.move_opportunity(actor=rm_a, opportunity_id=made[2].pk, stage="proposal")

    with CaptureQueriesContext(connection) as queries:
        board = selectors.opportunity_board(viewer=rm_a)

    assert [o.title for o in board["qualify"]] == ["#0", "#1"]  # soonest first, the undated one cut
    assert [o.title for o in board["proposal"]] == ["#2"]
    assert len(queries) == 2  # the rows, their products
