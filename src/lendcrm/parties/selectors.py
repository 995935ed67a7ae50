"""Every read of the customer master, scoped to the viewer."""

from django.db.models import QuerySet

from lendcrm.core import errors
from lendcrm.core.access import party_scope
from lendcrm.core.models import User
from lendcrm.parties.models import Party


def visible_parties(*, viewer: User) -> QuerySet[Party]:
    """The parties `viewer` may read; everything else does not exist for them."""
    scope = party_scope(viewer)
    qs = Party.objects.all()
    return qs if scope is None else qs.filter(scope)


def get_party(*, viewer: User, party_id: object) -> Party:
    """One party the viewer may read, or NotFound (never a hint that it exists)."""
    try:
        pk = int(str(party_id))
    except ValueError as exc:
        raise errors.NotFound() from exc
    party = visible_parties(viewer=viewer).select_related("branch").filter(pk=pk).first()
    if party is None:
        raise errors.NotFound()
    return party
