"""The application state machine through `services.transition`: every guard, every role refusal, and
illegal moves that change nothing."""

import itertools

import pytest

from lendcrm.origination.models import Status
from tests.origination.conftest import HAPPY_PATH, AppFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [*HAPPY_PATH, Status.DECLINED, Status.WITHDRAWN, Status.EXPIRED])
def test_the_factory_reaches_every_status(apps: AppFactory, status: str) -> None:
    application = apps.at(status)
    application.refresh_from_db()
    assert application.status == status
    changes = list(
        application.status_changes.order_by("changed_at", "id").values_list("from_status", "to_status")
    )
    assert changes[0] == ("", Status.DRAFT)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(changes))
    assert changes[-1][1] == status
