"""The demo's credit work is made through the services: valid, audited, and made once."""

from datetime import date

import pytest

from lendcrm import seeding
from lendcrm.core.audit import verify_chain
from lendcrm.core.models import AuditEvent, User
from lendcrm.origination import authority
from lendcrm.origination.models import Application, Delegation, Offer
from lendcrm.pipeline.models import Lead, Opportunity, Proposal
from lendcrm.seeding import credit

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 1)


@pytest.fixture
def demo_staff() -> dict[str, User]:
    seeding.seed_bank(parties=300, seed=5, as_of=TODAY, interactions_per_party=1)
    seeding.create_demo_logins()
    return {
        u.username: u for u in User.objects.filter(username__in=("rm", "analyst", "approver", "committee"))
    }


def test_demo_authority_gives_the_committee_a_quorum_and_is_granted_once(demo_staff: dict[str, User]) -> None:
    granted = credit.grant_demo_authority(TODAY)
    committee = Delegation.objects.filter(level__slug="credit_committee")
    assert committee.values("user").distinct().count() >= committee.first().level.quorum  # type: ignore[union-attr]
    assert Delegation.objects.get(user=demo_staff["approver"]).level.slug == "head_office_credit"
    assert granted == Delegation.objects.count()
    assert credit.grant_demo_authority(TODAY) == 0


def test_demo_pipeline_through_the_services(demo_staff: dict[str, User]) -> None:
    credit.grant_demo_authority(TODAY)
    events = AuditEvent.objects.count()
    made = credit.seed_demo_pipeline(
        rm=demo_staff["rm"], analyst=demo_staff["analyst"], approver=demo_staff["approver"]
    )
    assert made
    assert Lead.objects.count() == 2
    assert Opportunity.objects.filter(owner=demo_staff["rm"]).count() == 4
    assert Proposal.objects.get().status == "issued"
    waiting = Application.objects.get(status="pending_decision")
    assert waiting.required_level is not None
    assert authority.assess(waiting).required == waiting.required_level
    assert Offer.objects.get().application.status == "offer_issued"
    assert AuditEvent.objects.count() > events
    assert verify_chain().ok
    assert not credit.seed_demo_pipeline(
        rm=demo_staff["rm"], analyst=demo_staff["analyst"], approver=demo_staff["approver"]
    )
    assert Application.objects.count() == 2
