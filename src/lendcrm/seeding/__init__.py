"""A realistic synthetic bank, generated deterministically from a seed and bulk-loaded fast.

Seeding is a bulk load that bypasses the per-row services on purpose: pushing millions of rows through
them would take hours and write an audit event per row. Instead `rows.Generator` builds plain tuples
(ids assigned up front, `Party.search_text` computed as the services keep it: lower-cased names,
identifier values and contact emails), `seed_bank` inserts them with `executemany` in batches through
Django's connection inside ONE transaction and records ONE audit event, `seed.loaded`, with the counts.
Only `random.Random` streams derived from the seed, and the reference date `as_of`, feed the data, so
the same seed and date on the same starting database give the same rows.

Seeding refuses a database that already has parties unless `append=True`; appending reuses the
branches and staff (matched by code and username) and continues the ids, drawing fresh names and
identifiers. Run it on a quiet database: ids are assigned up front, so concurrent writers would collide.

`generate_rows()` yields exactly the batches `seed_bank()` inserts, so a benchmark can replay them with
a raw `executemany` and compare.
"""

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import reduce
from operator import or_
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max, Model, Q

from lendcrm.core import audit, errors
from lendcrm.core import services as core_services
from lendcrm.core.models import Branch, RoleGrant, User
from lendcrm.core.roles import COVERAGE_ROLES, Role
from lendcrm.interactions.models import Interaction, Task, TaskStatus
from lendcrm.parties.models import Coverage, Identifier, Party
from lendcrm.seeding import words
from lendcrm.seeding.names import make_lei, make_national_id, make_uscc, person
from lendcrm.seeding.rows import TABLES, Batch, Generator, Org

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "Batch",
    "Org",
    "SeedRefused",
    "SeedReport",
    "create_demo_logins",
    "ensure_org",
    "generate_rows",
    "make_lei",
    "make_national_id",
    "make_uscc",
    "seed_bank",
]

DEMO_PASSWORD = "lendcrm-demo-2026"  # published on purpose: it only ever guards demo data
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    ("rm", Role.RELATIONSHIP_MANAGER),
    ("analyst", Role.CREDIT_ANALYST),
    ("approver", Role.CREDIT_APPROVER),
    ("committee", Role.COMMITTEE_MEMBER),
    ("monitor", Role.PORTFOLIO_MONITOR),
    ("ops", Role.LOAN_OPERATIONS),
    ("agent", Role.SERVICE_AGENT),
    ("compliance", Role.COMPLIANCE_OFFICER),
    ("admin", Role.ADMINISTRATOR),
)
DEMO_BRANCH = "SH01"
# Staff usernames are `<prefix>.<branch code>.<n>`, e.g. `rm.sh01.1` or `approver.ho.2`.
STAFF_PREFIX = {
    Role.RELATIONSHIP_MANAGER: "rm",
    Role.SERVICE_AGENT: "agent",
    Role.CREDIT_ANALYST: "analyst",
    Role.CREDIT_APPROVER: "approver",
    Role.COMMITTEE_MEMBER: "committee",
    Role.PORTFOLIO_MONITOR: "monitor",
    Role.LOAN_OPERATIONS: "ops",
    Role.COMPLIANCE_OFFICER: "compliance",
    Role.ADMINISTRATOR: "admin",
}
HEAD_OFFICE_STAFF = {
    Role.CREDIT_ANALYST: 4,
    Role.CREDIT_APPROVER: 3,
    Role.COMMITTEE_MEMBER: 5,
    Role.PORTFOLIO_MONITOR: 3,
    Role.LOAN_OPERATIONS: 2,
    Role.COMPLIANCE_OFFICER: 2,
    Role.ADMINISTRATOR: 1,
    Role.SERVICE_AGENT: 2,
}
PARTIES_PER_RM = 250
PROGRESS_STEP = 250_000
SQLITE_LOAD_CACHE_KIB = 256 * 1024
Progress = Callable[[str], None]


class SeedRefused(errors.Conflict):
    """Seeding would mix synthetic rows into an existing book without `append`."""

    code = "seed_refused"


@dataclass
class SeedReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def ensure_branches() -> dict[str, Branch]:
    """The head office and the eight city branches, created where missing; keyed by code."""
    have = {b.code: b for b in Branch.objects.all()}
    head_exists = any(b.is_head_office for b in have.values())
    Branch.objects.bulk_create(
        [
            Branch(code=code, name=name, local_name=local, city=city, is_head_office=code == "HO")
            for code, name, local, city, _, _ in words.BRANCHES
            if code not in have and not (code == "HO" and head_exists)
        ]
    )
    return {b.code: b for b in Branch.objects.all()}


def ensure_org(*, parties: int, seed: int) -> Org:
    """Branches and staff of every role, sized for `parties`; existing ones (same usernames) are reused."""
    branches = ensure_branches()
    head = next(b for b in branches.values() if b.is_head_office)
    wanted: list[tuple[str, str, Branch]] = []
    for role, count in HEAD_OFFICE_STAFF.items():
        wanted += [(f"{STAFF_PREFIX[role]}.{head.code.lower()}.{i}", role, head) for i in range(1, count + 1)]
    ho_rms = max(2, min(30, math.ceil(parties * 0.04 / PARTIES_PER_RM)))
    wanted += [(f"rm.{head.code.lower()}.{i}", Role.RELATIONSHIP_MANAGER, head) for i in range(1, ho_rms + 1)]
    for code, *_, share in words.BRANCHES[1:]:
        rms = max(2, min(60, math.ceil(parties * share / 100 / PARTIES_PER_RM)))
        per_role = {
            Role.RELATIONSHIP_MANAGER: rms,
            Role.SERVICE_AGENT: max(1, rms // 3),
            Role.CREDIT_ANALYST: 1,
            Role.PORTFOLIO_MONITOR: 1,
        }
        for role, count in per_role.items():
            wanted += [
                (f"{STAFF_PREFIX[role]}.{code.lower()}.{i}", role, branches[code])
                for i in range(1, count + 1)
            ]
    rng = random.Random(f"lendcrm:{seed}:staff")
    existing = set(
        User.objects.filter(username__in=[u for u, _, _ in wanted]).values_list("username", flat=True)
    )
    new: list[tuple[User, str]] = []
    for username, slug, branch in wanted:
        sur, given, _, _ = person(rng)
        if username not in existing:
            user = User(
                username=username,
                first_name=given,
                last_name=sur,
                email=f"{username}@bank.example",
                branch=branch,
                password=f"!{rng.getrandbits(160):040x}",
            )  # unusable: tokens only
            new.append((user, slug))
    User.objects.bulk_create([u for u, _ in new])
    ids = dict(User.objects.filter(username__in=[u for u, _, _ in wanted]).values_list("username", "id"))
    RoleGrant.objects.bulk_create([RoleGrant(user_id=ids[u.username], role=role) for u, role in new])
    staff: dict[int, dict[str, list[int]]] = {b.pk: {} for b in branches.values()}
    for username, slug, branch in wanted:
        staff[branch.pk].setdefault(slug, []).append(ids[username])
    codes = [spec[0] for spec in words.BRANCHES[1:]]
    province = {branches[code].pk: spec[4] for code, spec in zip(codes, words.BRANCHES[1:], strict=True)}
    province[head.pk] = 0
    return Org(head.pk, [branches[c].pk for c in codes], province, staff)


def _next_id(model: type[Model]) -> int:
    return int(model._default_manager.aggregate(m=Max("id"))["m"] or 0) + 1


def generate_rows(
    *,
    org: Org,
    parties: int,
    seed: int,
    as_of: date,
    interactions_per_party: float = 10.0,
    years: int = 2,
) -> Iterator[tuple[str, Batch]]:
    """Every row of a seeding run as (phase, batch), in an order that satisfies the foreign keys."""
    next_ids = {name: _next_id(model) for name, (model, _) in TABLES.items()}
    taken = set(Identifier.objects.values_list("scheme", "value")) if next_ids["parties"] > 1 else set()
    gen = Generator(org=org, parties=parties, seed=seed, as_of=as_of, next_ids=next_ids, taken=taken)
    for phase, batches in (
        ("parties", gen.parties()),
        ("relationships", gen.relationships()),
        ("interactions", gen.interactions(round(parties * interactions_per_party), years)),
        ("tasks", gen.tasks()),
    ):
        for batch in batches:
            yield phase, batch


def seed_bank(
    *,
    parties: int,
    seed: int,
    as_of: date,
    interactions_per_party: float = 10.0,
    years: int = 2,
    progress: Progress | None = None,
    append: bool = False,
) -> SeedReport:
    """Load a synthetic bank in one transaction; raises SeedRefused on a non-empty book unless appending."""
    if parties < 0 or interactions_per_party < 0 or years < 1:
        raise errors.ValidationFailed("parties and interactions per party must be ≥ 0, years ≥ 1.")
    say = progress or (lambda _line: None)
    report, started = SeedReport(), time.perf_counter()
    table_names = {model._meta.db_table: name for name, (model, _) in TABLES.items()}
    with transaction.atomic():
        if not append and Party.objects.exists():
            raise SeedRefused(
                "The database already has parties; pass append to add a synthetic bank to them."
            )
        before = Branch.objects.count(), User.objects.count()
        org = ensure_org(parties=parties, seed=seed)
        report.counts["branches"] = Branch.objects.count() - before[0]
        report.counts["staff"] = User.objects.count() - before[1]
        say(f"organisation: {report.counts['branches']} new branches, {report.counts['staff']} new staff")
        meter = _Meter(say)
        with connection.cursor() as cursor, _large_page_cache(cursor):
            for phase, batch in generate_rows(
                org=org,
                parties=parties,
                seed=seed,
                as_of=as_of,
                interactions_per_party=interactions_per_party,
                years=years,
            ):
                insert(cursor, batch)
                name = table_names[batch.table]
                report.counts[name] = report.counts.get(name, 0) + len(batch.rows)
                meter.add(phase, len(batch.rows))
            meter.close()
            if connection.vendor == "postgresql":  # ids were given explicitly: move the sequences past them
                for sql in connection.ops.sequence_reset_sql(no_style(), [m for m, _ in TABLES.values()]):
                    cursor.execute(sql)
        audit.record(
            actor=None,
            action="seed.loaded",
            object_type="seed",
            object_id=seed,
            changes={
                "after": {
                    "seed": seed,
                    "as_of": as_of,
                    "parties": parties,
                    "years": years,
                    "append": append,
                    "interactions_per_party": str(interactions_per_party),
                    "counts": report.counts,
                }
            },
        )
    report.seconds = time.perf_counter() - started  # with the commit, where deferred FK checks run
    say(_rate("total, committed", report.rows, report.seconds))
    return report


def insert(cursor: Any, batch: Batch) -> None:
    """Write one batch: COPY on PostgreSQL (a statement per row is slow there), executemany elsewhere."""
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(batch.copy_sql()) as copy:
            for row in batch.rows:
                copy.write_row(row)
    else:
        cursor.executemany(batch.insert_sql(), batch.rows)


@contextlib.contextmanager
def _large_page_cache(cursor: Any) -> Iterator[None]:
    """On SQLite, a bigger page cache for the load: random index inserts otherwise thrash the default 2 MB."""
    if connection.vendor != "sqlite":
        yield
        return
    previous = cursor.execute("PRAGMA cache_size").fetchone()[0]
    cursor.execute(f"PRAGMA cache_size = {-SQLITE_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(previous)}")


class _Meter:
    """A progress line per phase (rows, rows/s), and one every PROGRESS_STEP rows within a long phase."""

    def __init__(self, say: Progress) -> None:
        self.say, self.phase, self.rows, self.step = say, "", 0, PROGRESS_STEP
        self.start = self.mark = time.perf_counter()

    def add(self, phase: str, rows: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.rows, self.start, self.step = phase, 0, self.mark, PROGRESS_STEP
        self.rows += rows
        self.mark = time.perf_counter()
        if self.rows >= self.step:
            self.say(_rate(f"  {self.phase} so far", self.rows, self.mark - self.start))
            self.step += PROGRESS_STEP

    def close(self) -> None:
        if self.phase:
            self.say(_rate(self.phase, self.rows, self.mark - self.start))


def _rate(label: str, rows: int, seconds: float) -> str:
    return f"{label}: {rows:,} rows in {seconds:.1f} s ({rows / seconds if seconds else 0:,.0f} rows/s)"


def create_demo_logins() -> list[tuple[str, str, str]]:
    """The published demo accounts, one per role; the demo RM leads some parties at the first branch.

    Accounts that already exist are left alone (and keep whatever password they have).
    """
    branches = ensure_branches()
    first = branches.get(DEMO_BRANCH) or next(b for b in branches.values() if not b.is_head_office)
    head = next(b for b in branches.values() if b.is_head_office)
    existing = set(
        User.objects.filter(username__in=[u for u, _ in DEMO_LOGINS]).values_list("username", flat=True)
    )
    for username, role in DEMO_LOGINS:
        if username in existing:
            continue
        user = core_services.create_user(
            actor=None,
            username=username,
            roles=[role],
            branch=first if role in COVERAGE_ROLES else head,
            password=DEMO_PASSWORD,
            first_name="Demo",
            last_name=str(Role(role).label),
        )
        if role == Role.RELATIONSHIP_MANAGER:
            _cover(user, first)
    return [(username, str(role), DEMO_PASSWORD) for username, role in DEMO_LOGINS]


def _cover(rm: User, branch: Branch, lead: int = 25, team: int = 5) -> None:
    """Make the demo RM lead some parties at their branch and join the team of a few elsewhere."""
    with transaction.atomic():
        leads = list(
            Coverage.objects.filter(role="lead", party__branch=branch)
            .order_by("party_id")
            .values_list("id", "party_id", "user_id")[:lead]
        )
        Coverage.objects.filter(id__in=[c for c, _, _ in leads]).update(user=rm)
        # The demo RM takes over the previous leads' open tasks and their history with these parties,
        # so that "My day" has something in it from the first sign-in.
        if leads:
            tasks = reduce(or_, (Q(party_id=p, assignee_id=u) for _, p, u in leads))
            Task.objects.filter(tasks, status=TaskStatus.OPEN).update(assignee=rm)
            history = reduce(or_, (Q(party_id=p, staff_id=u) for _, p, u in leads))
            Interaction.objects.filter(history).update(staff=rm)
        others = list(Party.objects.exclude(branch=branch).order_by("id").values_list("id", flat=True)[:team])
        Coverage.objects.bulk_create([Coverage(party_id=p, user=rm, role="team") for p in others])
        audit.record(
            actor=None,
            action="seed.demo_coverage",
            object_type="user",
            object_id=rm.pk,
            changes={"after": {"lead_of": [p for _, p, _ in leads], "team_of": others}},
        )
