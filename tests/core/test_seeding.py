"""The synthetic bank: deterministic, valid identifiers, realistic shape, consistent with the services."""

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.db.models import Count, Sum

from lendcrm import seeding
from lendcrm.core.audit import verify_chain
from lendcrm.core.models import AuditEvent, Branch, User
from lendcrm.core.roles import Role
from lendcrm.interactions.models import Channel, Interaction, Task
from lendcrm.parties import identifiers
from lendcrm.parties import services as party_services
from lendcrm.parties.models import (
    OWNERSHIP_KINDS,
    Contact,
    ContactPoint,
    ContactRole,
    Coverage,
    Identifier,
    Party,
    PartyKind,
    PartySearchGram,
    Relationship,
)
from lendcrm.parties.search import cjk_pairs

AS_OF = date(2026, 3, 1)
pytestmark = pytest.mark.django_db


def seed(parties: int = 200, seed: int = 11, **kw: Any) -> seeding.SeedReport:
    kw.setdefault("interactions_per_party", 4)
    return seeding.seed_bank(parties=parties, seed=seed, as_of=AS_OF, **kw)


def digest() -> str:
    """Everything a seed decides about parties, identifiers, contacts, relationships and interactions."""
    h = hashlib.sha256()
    for qs in (
        Party.objects.order_by("id").values_list(),
        Identifier.objects.order_by("id").values_list(),
        Contact.objects.order_by("id").values_list(),
        ContactRole.objects.order_by("id").values_list(),
        ContactPoint.objects.order_by("id").values_list(),
        Coverage.objects.order_by("id").values_list("party_id", "user__username", "role"),
        Relationship.objects.order_by("id").values_list(),
        Interaction.objects.order_by("id").values_list(),
        Task.objects.order_by("id").values_list(),
    ):
        h.update(repr(list(qs)).encode())
    return h.hexdigest()


def wipe() -> None:
    Party.objects.all().delete()
    Contact.objects.all().delete()


def test_same_seed_gives_the_same_bank_and_another_seed_another() -> None:
    seed()
    first = digest()
    assert Party.objects.count() == 200
    wipe()
    seed()
    assert digest() == first
    wipe()
    seed(seed=12)
    assert digest() != first


def test_every_seeded_lei_and_uscc_is_valid() -> None:
    seed(parties=500, interactions_per_party=0)
    checked = Counter()
    for scheme, value in Identifier.objects.values_list("scheme", "value"):
        assert identifiers.validate(scheme, value) == value, (scheme, value)
        checked[scheme] += 1
    assert checked["lei"] > 20
    assert checked["uscc"] > 300
    # Chinese companies carry a USCC, large corporates and financial institutions an LEI.
    cn_companies = Party.objects.filter(country="CN").exclude(kind__in=["individual"])
    assert not cn_companies.exclude(identifiers__scheme="uscc").exists()
    assert not Party.objects.filter(kind="financial_institution").exclude(identifiers__scheme="lei").exists()
    assert Party.objects.filter(kind="corporate", identifiers__scheme="lei").exists()


def test_all_eight_kinds_in_realistic_proportions() -> None:
    seed(parties=500, interactions_per_party=0)
    kinds = dict(Party.objects.values_list("kind").annotate(n=Count("id")))
    assert set(kinds) == set(PartyKind.values)
    assert kinds["sme"] == pytest.approx(225, abs=10)
    assert kinds["corporate"] == pytest.approx(75, abs=5)
    assert kinds["financial_institution"] == pytest.approx(15, abs=3)
    # Segments follow kind and size.
    segments = dict(Party.objects.filter(kind="individual").values_list("segment").annotate(n=Count("id")))
    assert set(segments) == {"retail"}
    assert set(Party.objects.filter(kind="project_company").values_list("segment", flat=True)) == {
        "project_finance"
    }
    money = Party.objects.filter(annual_revenue__isnull=False)
    assert set(money.values_list("annual_revenue_currency", flat=True)) <= {"CNY", "USD"}
    assert money.filter(annual_revenue_currency="USD").exists()
    assert isinstance(money.first().annual_revenue, Decimal)


def test_names_in_chinese_and_english() -> None:
    seed(parties=100, interactions_per_party=0)
    sme = Party.objects.filter(kind="sme", country="CN").first()
    assert sme.legal_name.endswith("Co., Ltd.")
    assert sme.local_name.endswith("有限公司")
    person = Party.objects.filter(kind="individual").first()
    assert len(person.legal_name.split()) == 2
    assert 2 <= len(person.local_name) <= 3
    assert person.birth_date is not None


def test_ownership_never_exceeds_100_percent_and_has_no_cycles() -> None:
    seed(parties=500, interactions_per_party=0)
    into = (
        Relationship.objects.filter(kind__in=OWNERSHIP_KINDS)
        .values("to_party")
        .annotate(total=Sum("ownership_pct"))
    )
    assert into
    assert max(row["total"] for row in into) <= 100
    ubo = ContactRole.objects.filter(role="ubo").values("party").annotate(total=Sum("ownership_pct"))
    assert ubo
    assert max(row["total"] for row in ubo) <= 100
    owns: dict[int, list[int]] = defaultdict(list)
    for a, b in Relationship.objects.filter(kind__in=OWNERSHIP_KINDS).values_list("from_party", "to_party"):
        owns[a].append(b)

    def reaches_itself(start: int) -> bool:
        seen, stack = set(), list(owns[start])
        while stack:
            node = stack.pop()
            if node == start:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(owns[node])
        return False

    assert not any(reaches_itself(node) for node in list(owns))
    # Groups go three levels deep somewhere; every SPV has one to three sponsors.
    parents = dict(Relationship.objects.filter(kind="parent_of").values_list("to_party", "from_party"))
    assert any(parent in parents for parent in parents.values())
    sponsors = Counter(Relationship.objects.filter(kind="sponsor_of").values_list("to_party", flat=True))
    spvs = set(Party.objects.filter(kind="project_company").values_list("id", flat=True))
    assert set(sponsors) == spvs
    assert set(sponsors.values()) <= {1, 2, 3}
    assert Relationship.objects.filter(kind="guarantor_of").exists()


def test_coverage_one_lead_rm_at_the_booking_branch() -> None:
    seed(parties=300, interactions_per_party=0)
    head = Branch.objects.get(is_head_office=True)
    leads = Coverage.objects.filter(role="lead").select_related("user", "party")
    assert leads.count() == Party.objects.count()
    for c in leads:
        assert c.user.has_role(Role.RELATIONSHIP_MANAGER)
        assert c.user.branch_id in (c.party.branch_id, head.pk)
    assert Coverage.objects.filter(role="team").exists()


def test_staff_of_every_role_with_predictable_usernames() -> None:
    seed(parties=100, interactions_per_party=0)
    roles = {r for u in User.objects.prefetch_related("role_grants") for r in u.role_slugs}
    assert roles == set(Role.values)
    assert User.objects.filter(username="rm.sh01.1", branch__code="SH01").exists()
    assert User.objects.filter(username="approver.ho.1").exists()
    assert Branch.objects.filter(code="SH01", local_name="上海浦东分行").exists()
    assert not User.objects.get(username="rm.sh01.1").has_usable_password()


def test_kyc_interactions_and_tasks_are_lifelike() -> None:
    seed(parties=300, interactions_per_party=6, years=2)
    soon = Party.objects.filter(kyc_next_review__gt=AS_OF, kyc_next_review__lte=AS_OF + timedelta(days=30))
    assert soon.exists()
    assert Party.objects.filter(kyc_status="expired", kyc_next_review__lt=AS_OF).exists()
    assert Interaction.objects.count() == 1800
    assert set(Interaction.objects.values_list("channel", flat=True)) == set(Channel.values)
    start, end = datetime(2024, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    assert Interaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count() == 1800
    assert not Interaction.objects.filter(channel="meeting", staff__isnull=True).exists()
    subjects = list(Interaction.objects.values_list("subject", flat=True)[:400])
    assert any(s.isascii() for s in subjects)
    assert any(not s.isascii() for s in subjects)
    assert Task.objects.filter(status="open", due_date__lt=AS_OF).exists()
    assert Task.objects.filter(status="open", due_date__gte=AS_OF).exists()
    assert Task.objects.filter(status="done", completed_at__isnull=False).exists()


def test_search_text_is_what_the_services_would_write() -> None:
    seed(parties=60, interactions_per_party=0)
    party = Party.objects.filter(kind="sme").first()
    seeded = party.search_text
    assert party.local_name in seeded
    assert party.legal_name.lower() in seeded
    assert Party.objects.filter(search_text__contains="@").exists()
    # Adding and removing an identifier through the services rebuilds the column from scratch.
    extra = party_services.add_identifier(actor=None, party=party, scheme="tax_number", value="TX-123456")
    party_services.remove_identifier(actor=None, identifier=extra)
    party.refresh_from_db()
    assert party.search_text == seeded


def test_cjk_pairs_are_what_the_services_would_write() -> None:
    seed(parties=60, interactions_per_party=0)
    held: dict[int, set[str]] = defaultdict(set)
    for party_id, gram in PartySearchGram.objects.values_list("party_id", "gram"):
        held[party_id].add(gram)
    for party in Party.objects.all():
        assert held[party.pk] == cjk_pairs(party.search_text), party.pk
    assert held  # Chinese names give pairs


def test_refuses_a_book_with_parties_unless_appending() -> None:
    seed(parties=50, interactions_per_party=1)
    before = (Party.objects.count(), User.objects.count(), AuditEvent.objects.count())
    with pytest.raises(seeding.SeedRefused):
        seed(parties=50)
    assert (Party.objects.count(), User.objects.count(), AuditEvent.objects.count()) == before
    report = seed(parties=50, interactions_per_party=1, append=True)
    assert report.counts["staff"] == report.counts["branches"] == 0  # branches and staff reused
    assert Party.objects.count() == 100
    values = list(Identifier.objects.values_list("scheme", "value"))
    assert len(values) == len(set(values))


def test_one_audit_event_and_ids_continue_after_the_load() -> None:
    report = seed(parties=80, interactions_per_party=2)
    events = AuditEvent.objects.filter(action="seed.loaded")
    assert events.count() == 1
    assert events.get().changes["after"]["counts"]["parties"] == 80
    assert report.counts["interactions"] == 160
    assert report.rows > 160
    assert verify_chain().ok
    # The sequences moved past the explicit ids: ordinary writes still work.
    rm = User.objects.get(username="rm.sh01.1")
    party = party_services.create_party(
        actor=None, kind="sme", legal_name="After Seeding Ltd.", branch=rm.branch, lead_rm=rm
    )  # fmt: skip
    assert party.pk > 80


def test_progress_lines_name_each_phase() -> None:
    lines: list[str] = []
    seed(parties=30, interactions_per_party=1, progress=lines.append)
    text = "\n".join(lines)
    for phase in ("organisation", "parties", "relationships", "interactions", "tasks", "total"):
        assert phase in text
    assert "rows/s" in text


def test_generated_rows_are_the_rows_seed_bank_inserts() -> None:
    org = seeding.ensure_org(parties=40, seed=3)
    batches = list(seeding.generate_rows(org=org, parties=40, seed=3, as_of=AS_OF, interactions_per_party=2))
    assert {b.table for _, b in batches} >= {"parties_party", "interactions_interaction"}
    assert sum(len(b.rows) for _, b in batches if b.table == "parties_party") == 40
    assert all(len(row) == len(b.columns) for _, b in batches for row in b.rows)


def test_demo_logins_one_per_role_and_the_rm_covers_parties() -> None:
    seed(parties=120, interactions_per_party=0)
    logins = seeding.create_demo_logins()
    assert {role for _, role, _ in logins} == set(Role.values)
    assert all(password == seeding.DEMO_PASSWORD for _, _, password in logins)
    rm = authenticate(username="rm", password=seeding.DEMO_PASSWORD)
    assert rm is not None
    assert rm.has_role(Role.RELATIONSHIP_MANAGER)
    assert rm.branch.code == "SH01"
    assert Coverage.objects.filter(user=rm, role="lead").count() > 0
    assert Coverage.objects.filter(user=rm, role="team").exclude(party__branch=rm.branch).exists()
    assert authenticate(username="compliance", password=seeding.DEMO_PASSWORD).has_role(
        Role.COMPLIANCE_OFFICER
    )
    users = User.objects.count()
    assert seeding.create_demo_logins() == logins  # idempotent
    assert User.objects.count() == users


def test_the_demo_rm_starts_with_a_day_to_look_at() -> None:
    seed(parties=120, interactions_per_party=4)
    seeding.create_demo_logins()
    rm = User.objects.get(username="rm")
    led = Coverage.objects.filter(user=rm, role="lead").values("party_id")
    assert Task.objects.filter(assignee=rm, status="open", party_id__in=led).exists()
    assert Interaction.objects.filter(staff=rm, party_id__in=led).exists()
    users = User.objects.count()
    seeding.create_demo_logins()
    assert User.objects.count() == users


def test_demo_logins_on_an_empty_database() -> None:
    logins = seeding.create_demo_logins()
    assert len(logins) == len(Role.values)
    assert User.objects.get(username="admin").has_role(Role.ADMINISTRATOR)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(seeding.errors.ValidationFailed):
        seed(parties=-1)
    assert not Party.objects.exists()
