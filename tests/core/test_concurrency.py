"""A write based on a version the row no longer has is refused, naming the current ETag; nothing changes."""

import pytest

from lendcrm.core import errors, services
from lendcrm.core.concurrency import etag_for
from lendcrm.core.models import User

pytestmark = pytest.mark.django_db


def test_stale_version_is_refused_with_the_current_etag(admin_user: User, rm_a: User) -> None:
    services.update_user(actor=admin_user, user=rm_a, expected_version=1, first_name="Li")
    rm_a.refresh_from_db()
    with pytest.raises(errors.PreconditionFailed) as caught:
        services.update_user(actor=admin_user, user=rm_a, expected_version=1, first_name="Wang")
    assert caught.value.status == 412
    assert caught.value.extra == {"current_etag": etag_for(rm_a)} == {"current_etag": f'"{rm_a.pk}-2"'}
    rm_a.refresh_from_db()
    assert rm_a.first_name == "Li"


def test_current_version_is_accepted(admin_user: User, rm_a: User) -> None:
    updated = services.update_user(actor=admin_user, user=rm_a, expected_version=1, first_name="Li")
    assert updated.version == 2
