"""The daily post-loan job over 100,000 facilities, against a single SQL pass over the same rows.

    .venv/bin/python bench/daily.py                          # 100,000 facilities, SQLite and PostgreSQL
    .venv/bin/python bench/daily.py --facilities 5000 --backends sqlite --out /tmp/bench

Each backend gets a fresh, migrated database in a child process (SQLite: a temporary file; PostgreSQL:
`bench_lendcrm_daily` on 127.0.0.1:5432, dropped afterwards). `generate` seeds a bank with one party for
every two facilities (`seeding.seed_bank`, no interactions), then bulk-inserts, chunk by chunk, a booked
application with a graded credit memo per party and its facilities (term, revolving and project-finance
loans in four repayment profiles, started over the last six years), each facility's repayment schedule
from the schedule engine (`servicing.schedules.build_schedule`), what has been paid on it (most
facilities are current; some are 1 to 500+ days late, a few partly paid), a DSCR covenant with two
years of audited statements on a fifth of them (some below the threshold) and a quarterly
management-accounts covenant on a tenth, and each party's last review and visit (most within their
interval, one in twenty long ago). The facilities' delinquency and classification columns are as
at booking, so the first run of the job has the day's work to do. Generation is not timed.

Timed: `monitoring.daily.run_daily(as_of=…)` once (the first run: every step writes what changed, with
its history and audit rows), then again on the same day (the idempotent re-run: every step must report
0, or the run fails). The floor is ONE aggregate query over the same rows on a plain DB-API cursor:
outstanding principal, arrears and days past due per active facility from its current schedule version,
every row fetched (`raw_sql`); its totals are compared with the facility columns the job wrote. Reported:
seconds and microseconds per facility of each, and the ratio job / SQL pass.

Results: <out>/daily/<backend>-<YYYYMMDD>.json and a section of <out>/RESULTS.md.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PG_DB = "bench_lendcrm_daily"
FACILITIES = 100_000
CHUNK_PARTIES = 2_000
SECTION = "## The daily job (`bench/daily.py`)"
# (kind, product, profile, weight); revolving lines are bullets, project finance amortises.
MIX = (
    ("term", "term_loan", "annuity", 40),
    ("term", "equipment_finance", "equal_principal", 20),
    ("term", "term_loan", "balloon", 8),
    ("revolving", "revolving_facility", "bullet", 22),
    ("project_finance", "project_finance", "equal_principal", 10),
)
# How many of the due instalments are left unpaid (from the latest back), with their weights.
ARREARS = ((0, 86), (1, 7), (2, 3), (4, 2), (8, 1), (99, 1))


def _cols(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class Table:
    """Rows for one model as plain tuples in database types; columns left out get their model default."""

    def __init__(self, model: Any, columns: str) -> None:
        from django.db import connection, models

        given = _cols(columns)
        missing = [f for f in model._meta.concrete_fields if f.column not in given]
        zero = Decimal(0)
        for f in missing:
            if not (f.has_default() or f.null or f.blank or isinstance(f, models.DecimalField)):
                raise RuntimeError(f"bench/daily.py does not fill {model.__name__}.{f.name}: add it")
        self.model, self.given = model, given
        self.extra = tuple(
            f.get_db_prep_save(
                zero
                if isinstance(f, models.DecimalField) and not f.has_default() and not f.null
                else f.get_default(),
                connection,
            )
            for f in missing
        )
        self.columns = (*given, *(f.column for f in missing))
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self.next_id = _next_id(model)

    def add(self, *values: Any) -> None:
        self.rows.append(values + self.extra)

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def flush(self, cursor: Any) -> None:
        from lendcrm.seeding import insert
        from lendcrm.seeding.rows import BATCH_SIZE, Batch

        for start in range(0, len(self.rows), BATCH_SIZE):
            insert(
                cursor, Batch(self.model._meta.db_table, self.columns, self.rows[start : start + BATCH_SIZE])
            )
        self.count += len(self.rows)
        self.rows = []


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return int(model._default_manager.aggregate(m=Max("id"))["m"] or 0) + 1


def _schedule(
    principal: Decimal,
    rate: Decimal,
    start: date,
    maturity: date,
    months: int,
    profile: str,
    balloon: Decimal | None,
) -> tuple[Any, ...]:
    from lendcrm.servicing import schedules

    terms = schedules.ScheduleTerms(
        principal=principal,
        currency="CNY",
        annual_rate_pct=rate,
        start_date=start,
        maturity_date=maturity,
        frequency_months=months,
        profile=profile,
        day_count="act_360",
        business_day_rule="modified_following",
        balloon_amount=balloon,
    )
    return tuple(schedules.build_schedule(terms))


def _months_after(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


def _quarter_end(day: date, quarters: int) -> date:
    """The quarter end `quarters` quarters from the quarter end `day`."""
    first = _months_after(date(day.year, day.month, 1), 3 * quarters + 1)
    return first - timedelta(days=1)


def generate(*, facilities: int, seed: int, as_of: date, say: Callable[[str], None]) -> dict[str, Any]:
    """The bank, its booked facilities with schedules, payments, covenants and statements (module doc)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from lendcrm import seeding
    from lendcrm.core.models import RoleGrant
    from lendcrm.core.roles import Role
    from lendcrm.monitoring.models import Covenant, Review
    from lendcrm.origination.models import (
        Application,
        ApplicationFacility,
        ApplicationParty,
        CreditMemo,
        FinancialLine,
        FinancialStatement,
        RiskGrade,
    )
    from lendcrm.parties.models import Party
    from lendcrm.pipeline.models import Product
    from lendcrm.seeding.rows import Values
    from lendcrm.servicing.models import Facility, Instalment

    started = time.perf_counter()
    parties = max(1, (facilities + 1) // 2)
    seeding.seed_bank(parties=parties, seed=seed, as_of=as_of, interactions_per_party=0)
    say(f"bank seeded: {parties:,} parties in {time.perf_counter() - started:.1f} s")
    rng = random.Random(f"lendcrm:{seed}:daily")
    v = Values()
    now = timezone.now()
    stamp = v.stamp(now)
    products = dict(Product.objects.values_list("code", "id"))
    grades = dict(RiskGrade.objects.values_list("grade", "id"))
    roles = {
        role: dict(
            RoleGrant.objects.filter(role=role).order_by("user_id").values_list("user__branch_id", "user_id")
        )
        for role in (
            Role.RELATIONSHIP_MANAGER,
            Role.CREDIT_ANALYST,
            Role.PORTFOLIO_MONITOR,
            Role.LOAN_OPERATIONS,
        )
    }
    ops = next(iter(roles[Role.LOAN_OPERATIONS].values()))
    analyst_any = next(iter(roles[Role.CREDIT_ANALYST].values()))
    monitor_any = next(iter(roles[Role.PORTFOLIO_MONITOR].values()))
    rm_any = next(iter(roles[Role.RELATIONSHIP_MANAGER].values()))
    borrowers = list(Party.objects.order_by("id").values_list("id", "branch_id"))
    weights = [w for *_, w in MIX]
    late_counts, late_weights = zip(*ARREARS, strict=True)
    t = {
        "applications": Table(
            Application,
            "id created_at updated_at version reference borrower_id branch_id status status_entered_at "
            "owner_id analyst_id decided_at",
        ),
        "application_parties": Table(ApplicationParty, "id application_id party_id role"),
        "memos": Table(
            CreditMemo,
            "id created_at updated_at version application_id analyst_id risk_grade_id completed_at",
        ),
        "application_facilities": Table(
            ApplicationFacility,
            "id application_id product_id amount currency tenor_months repayment_profile balloon_amount "
            "rate_type fixed_rate_pct lgd position",
        ),
        "facilities": Table(
            Facility,
            "id created_at updated_at version reference application_id application_facility_id "
            "borrower_id branch_id "
            "product_id kind currency limit rate_type interest_rate_pct profile balloon_amount "
            "frequency_months day_count business_day_rule start_date availability_end maturity_date lgd "
            "schedule_version drawn outstanding_principal monitor_id booked_at booked_by_id",
        ),
        "instalments": Table(
            Instalment,
            "id facility_id schedule_version number period_start due_date days opening_balance "
            "principal interest "
            "closing_balance principal_paid interest_paid settled_on",
        ),
        "covenants": Table(
            Covenant,
            "id created_at updated_at version facility_id kind name metric bound threshold document "
            "frequency_months first_test_date due_days created_by_id",
        ),
        "statements": Table(
            FinancialStatement,
            "id created_at updated_at version party_id period_end period_months kind currency entered_by_id",
        ),
        "lines": Table(FinancialLine, "id statement_id code amount"),
        "reviews": Table(
            Review,
            "id created_at updated_at version party_id kind due_date assigned_to_id status visited_on "
            "findings completed_at completed_by_id",
        ),
    }
    year_end = date(as_of.year - 1, 12, 31)
    quarter_end = date(as_of.year, (as_of.month - 1) // 3 * 3 + 1, 1) - timedelta(days=1)  # the last one
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk_start in range(0, len(borrowers), CHUNK_PARTIES):
            chunk = borrowers[chunk_start : chunk_start + CHUNK_PARTIES]
            for n, (party_id, branch_id) in enumerate(chunk, start=chunk_start):
                count = 2 if n < facilities - parties else 1  # two each, then one each: `facilities` in all
                rm = roles[Role.RELATIONSHIP_MANAGER].get(branch_id, rm_any)
                analyst = roles[Role.CREDIT_ANALYST].get(branch_id, analyst_any)
                monitor = roles[Role.PORTFOLIO_MONITOR].get(branch_id, monitor_any)
                app_id = t["applications"].take_id()
                t["applications"].add(
                    app_id,
                    stamp,
                    stamp,
                    1,
                    f"APP-B-{app_id:07d}",
                    party_id,
                    branch_id,
                    "booked",
                    stamp,
                    rm,
                    analyst,
                    stamp,
                )
                t["application_parties"].add(t["application_parties"].take_id(), app_id, party_id, "borrower")
                grade = rng.choices(range(1, 11), weights=(2, 4, 8, 12, 16, 16, 14, 10, 6, 3))[0]
                t["memos"].add(t["memos"].take_id(), stamp, stamp, 1, app_id, analyst, grades[grade], stamp)
                dscr_party = rng.random() < 0.2
                mgmt_party = rng.random() < 0.1
                for position in range(count):
                    kind, product, profile, _w = rng.choices(MIX, weights=weights)[0]
                    fid = _facility(
                        t,
                        rng,
                        v,
                        stamp,
                        as_of,
                        app_id,
                        party_id,
                        branch_id,
                        products[product],
                        kind,
                        profile,
                        position,
                        monitor,
                        ops,
                        late_counts,
                        late_weights,
                    )
                    if position == 0 and dscr_party:
                        t["covenants"].add(
                            t["covenants"].take_id(),
                            stamp,
                            stamp,
                            1,
                            fid,
                            "financial",
                            "Minimum DSCR 1.20x",
                            "dscr",
                            "min",
                            v.money(Decimal("1.2000")),
                            "",
                            12,
                            v.day(date(as_of.year - 2, 12, 31)),
                            120,
                            monitor,
                        )
                    if position == 0 and mgmt_party:
                        t["covenants"].add(
                            t["covenants"].take_id(),
                            stamp,
                            stamp,
                            1,
                            fid,
                            "reporting",
                            "Quarterly management accounts",
                            "",
                            "",
                            None,
                            "management_accounts",
                            3,
                            v.day(_quarter_end(quarter_end, -2)),
                            45,
                            monitor,
                        )
                # The last review and visit done (most within their interval; one in twenty long ago).
                for kind in ("annual_review", "site_visit"):
                    visited = as_of - timedelta(days=rng.randrange(10, 150 if rng.random() < 0.95 else 700))
                    done = v.day(visited)
                    t["reviews"].add(
                        t["reviews"].take_id(),
                        stamp,
                        stamp,
                        1,
                        party_id,
                        kind,
                        done,
                        monitor,
                        "completed",
                        done,
                        "Operations as planned.",
                        stamp,
                        monitor,
                    )
                if dscr_party:
                    weak = rng.random() < 0.15
                    for years_back in (1, 0):
                        _statement(
                            t,
                            rng,
                            v,
                            stamp,
                            party_id,
                            date(year_end.year - years_back, 12, 31),
                            "audited",
                            12,
                            weak,
                            analyst,
                        )
                if mgmt_party and rng.random() < 0.7:
                    _statement(
                        t,
                        rng,
                        v,
                        stamp,
                        party_id,
                        _quarter_end(quarter_end, -1),
                        "management",
                        3,
                        False,
                        analyst,
                    )
            for table in t.values():
                table.flush(cursor)
            say(
                f"  {min(chunk_start + CHUNK_PARTIES, len(borrowers)):,} parties: "
                f"{t['facilities'].count:,} facilities, "
                f"{t['instalments'].count:,} instalments ({time.perf_counter() - started:.0f} s)"
            )
        if connection.vendor == "postgresql":
            from django.core.management.color import no_style

            for sql in connection.ops.sequence_reset_sql(no_style(), [table.model for table in t.values()]):
                cursor.execute(sql)
    counts = {name: table.count for name, table in t.items()}
    counts["parties"] = parties
    return {
        "counts": counts,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _facility(
    t: dict[str, Table],
    rng: random.Random,
    v: Any,
    stamp: Any,
    as_of: date,
    app_id: int,
    party_id: int,
    branch_id: int,
    product_id: int,
    kind: str,
    profile: str,
    position: int,
    monitor: int,
    ops: int,
    late_counts: Sequence[int],
    late_weights: Sequence[int],
) -> int:
    """One application facility, its booked facility, schedule and payments; the facility id."""
    months = {"bullet": 12}.get(profile) or rng.choice((1, 3, 3, 3, 6))
    tenor = {"revolving": 12 * rng.choice((1, 2, 3)), "project_finance": 12 * rng.choice((10, 12, 15))}.get(
        kind, 12 * rng.choice((3, 4, 5, 7))
    )
    tenor = max(tenor, months * 2)
    amount = Decimal(rng.choice((2, 3, 5, 8, 10, 15, 20, 30, 50, 80, 120, 200))) * 100_000
    if kind == "project_finance":
        amount *= 10
    rate = Decimal(rng.choice(("3.45", "3.85", "4.20", "4.35", "4.90", "5.50")))
    start = as_of - timedelta(days=rng.randrange(40, min(tenor * 30, 6 * 365)))
    start = date(start.year, start.month, min(start.day, 28))
    maturity = _months_after(start, tenor)
    balloon = (amount * Decimal("0.3")).quantize(Decimal(1)) if profile == "balloon" else None
    lines = _schedule(amount, rate, start, maturity, months, profile, balloon)
    af = t["application_facilities"]
    af_id = af.take_id()
    af.add(
        af_id,
        app_id,
        product_id,
        v.money(amount),
        "CNY",
        tenor,
        profile,
        v.money(balloon),
        "fixed",
        v.money(rate),
        v.money(Decimal("0.4500" if kind == "project_finance" else "0.4000")),
        position,
    )
    due = [line for line in lines if line.due_date < as_of]
    unpaid_from = len(due) - min(len(due), rng.choices(late_counts, weights=late_weights)[0])
    partial = rng.random() < 0.3
    fid = t["facilities"].take_id()
    outstanding = amount
    for i, line in enumerate(lines):
        paid = i < unpaid_from
        half = i == unpaid_from and partial and line.due_date < as_of
        principal_paid = line.principal if paid else Decimal(0)
        interest_paid = line.interest if paid or half else Decimal(0)
        outstanding -= principal_paid
        t["instalments"].add(
            t["instalments"].take_id(),
            fid,
            1,
            line.number,
            v.day(line.period_start),
            v.day(line.due_date),
            line.days,
            v.money(line.opening_balance),
            v.money(line.principal),
            v.money(line.interest),
            v.money(line.closing_balance),
            v.money(principal_paid),
            v.money(interest_paid),
            v.day(line.due_date) if paid else None,
        )
    values = {
        "id": fid,
        "created_at": stamp,
        "updated_at": stamp,
        "version": 1,
        "reference": f"FAC-B-{fid:07d}",
        "application_id": app_id,
        "application_facility_id": af_id,
        "borrower_id": party_id,
        "branch_id": branch_id,
        "product_id": product_id,
        "kind": kind,
        "currency": "CNY",
        "limit": v.money(amount),
        "rate_type": "fixed",
        "interest_rate_pct": v.money(rate),
        "profile": profile,
        "balloon_amount": v.money(balloon),
        "frequency_months": months,
        "day_count": "act_360",
        "business_day_rule": "modified_following",
        "start_date": v.day(start),
        "availability_end": v.day(_months_after(start, 3)),
        "maturity_date": v.day(maturity),
        "lgd": v.money(Decimal("0.4000")),
        "schedule_version": 1,
        "drawn": v.money(amount),
        "outstanding_principal": v.money(outstanding),
        "monitor_id": monitor,
        "booked_at": stamp,
        "booked_by_id": ops,
    }
    t["facilities"].add(*(values[c] for c in t["facilities"].given))
    return fid


def _statement(
    t: dict[str, Table],
    rng: random.Random,
    v: Any,
    stamp: Any,
    party_id: int,
    period_end: date,
    kind: str,
    months: int,
    weak: bool,
    analyst: int,
) -> None:
    sid = t["statements"].take_id()
    t["statements"].add(sid, stamp, stamp, 1, party_id, v.day(period_end), months, kind, "CNY", analyst)
    revenue = Decimal(rng.randrange(20, 400)) * 1_000_000 * months / 12
    ebitda = (revenue * Decimal(rng.choice(("0.12", "0.15", "0.18", "0.22")))).quantize(Decimal(1))
    tax = (ebitda * Decimal("0.15")).quantize(Decimal(1))
    cover = (
        Decimal(rng.choice(("0.9", "1.0", "1.1")))
        if weak
        else Decimal(rng.choice(("1.4", "1.8", "2.5", "3.2")))
    )
    service = ((ebitda - tax) / cover).quantize(Decimal(1))
    interest = (service * Decimal("0.35")).quantize(Decimal(1))
    for code, amount in (
        ("revenue", revenue),
        ("ebitda", ebitda),
        ("ebit", ebitda * Decimal("0.8")),
        ("interest_expense", interest),
        ("tax", tax),
        ("principal_repaid", service - interest),
        ("short_term_debt", service),
        ("long_term_debt", service * 4),
        ("equity", revenue * Decimal("0.4")),
        ("current_assets", revenue * Decimal("0.3")),
        ("current_liabilities", revenue * Decimal("0.2")),
    ):
        t["lines"].add(t["lines"].take_id(), sid, code, v.money(Decimal(amount).quantize(Decimal("0.01"))))


# --- the floor: one SQL pass ---------------------------------------------------------------------------
def raw_sql(backend: str) -> str:
    """Outstanding principal, arrears and days past due of every active facility, in one statement."""
    m = "?" if backend == "sqlite" else "%s"
    as_of = f"CAST({m} AS DATE)" if backend == "postgres" else m
    dpd = (
        f"CAST(julianday({m}) - julianday(MIN(CASE WHEN late THEN i.due_date END)) AS INTEGER)"
        if backend == "sqlite"
        else f"{as_of} - MIN(CASE WHEN late THEN i.due_date END)"
    )
    return (
        "SELECT i.facility_id, SUM(i.principal - i.principal_paid), "
        "SUM(CASE WHEN late THEN i.principal - i.principal_paid ELSE 0 END), "
        "SUM(CASE WHEN late THEN i.interest - i.interest_paid ELSE 0 END), "
        "SUM(CASE WHEN late THEN i.fees - i.fees_paid ELSE 0 END), "
        f"COALESCE({dpd}, 0) "
        "FROM (SELECT i.*, (i.due_date < " + as_of + " AND (i.principal_paid < i.principal "
        "OR i.interest_paid < i.interest OR i.fees_paid < i.fees)) AS late "
        "FROM servicing_instalment i JOIN servicing_facility f ON f.id = i.facility_id "
        "AND i.schedule_version = f.schedule_version WHERE f.status = 'active') i "
        "GROUP BY i.facility_id"
    )


def raw_pass(backend: str, url: str, as_of: date, repeats: int) -> dict[str, Any]:
    """The single SQL pass timed `repeats` times (every row fetched); the best and the totals."""
    sys.path.insert(0, str(HERE))
    from phases import raw_connect

    conn = raw_connect(backend, url)
    cursor = conn.cursor()
    sql = raw_sql(backend)
    params = (as_of.isoformat(), as_of.isoformat()) if backend == "sqlite" else (as_of, as_of)
    times, rows = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        times.append(time.perf_counter() - began)
    conn.close()
    return {
        "seconds": round(min(times), 3),
        "seconds_all": [round(s, 3) for s in times],
        "facilities": len(rows),
        "totals": _totals((_cents(r[1]), _cents(r[2]), _cents(r[3]), int(r[5])) for r in rows),
    }


def _cents(value: Any) -> Decimal:
    """A sum as the database returned it (SQLite adds decimals as floats) to the cent."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _totals(rows: Iterator[tuple[Decimal, Decimal, Decimal, int]] | Any) -> dict[str, Any]:
    out = {
        "outstanding": Decimal(0),
        "arrears_principal": Decimal(0),
        "arrears_interest": Decimal(0),
        "late": 0,
        "dpd_sum": 0,
    }
    for outstanding, principal, interest, dpd in rows:
        out["outstanding"] += outstanding
        out["arrears_principal"] += principal
        out["arrears_interest"] += interest
        out["late"] += 1 if dpd > 0 else 0
        out["dpd_sum"] += dpd
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in out.items()}


def job_totals() -> dict[str, Any]:
    from lendcrm.servicing.models import Facility

    rows = Facility.objects.filter(status="active").values_list(
        "outstanding_principal", "arrears_principal", "arrears_interest", "days_past_due"
    )
    return _totals(rows.iterator(chunk_size=5000))


def counts_of_outcomes() -> dict[str, Any]:
    """What the first run left behind, to show the work was real."""
    from django.db.models import Count

    from lendcrm.monitoring.models import CovenantTest, Review, Signal, WatchlistEntry
    from lendcrm.servicing.models import ClassificationChange, Facility

    return {
        "categories": dict(Facility.objects.values_list("category").annotate(n=Count("id")).order_by()),
        "stages": {
            str(k): n for k, n in Facility.objects.values_list("stage").annotate(n=Count("id")).order_by()
        },
        "classification_changes": ClassificationChange.objects.count(),
        "covenant_tests": dict(CovenantTest.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "reviews": Review.objects.count(),
        "signals": dict(Signal.objects.values_list("rule").annotate(n=Count("id")).order_by()),
        "watchlist": WatchlistEntry.objects.count(),
    }


# --- one backend, in a child process ---------------------------------------------------------------------
def _child(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(HERE))
    from phases import machine, migrate, peak_rss_mb, say, setup

    setup()
    from django.db import connection

    from lendcrm.core.models import AuditEvent
    from lendcrm.monitoring import daily

    migrate()
    as_of = date.fromisoformat(args.as_of)
    generated = generate(facilities=args.facilities, seed=args.seed, as_of=as_of, say=say)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does shortly after a bulk load
            cursor.execute("ANALYZE")
    audit_before = AuditEvent.objects.count()
    say(f"generated in {generated['seconds']} s: {generated['counts']}")
    first = _timed_run(daily, as_of)
    say(first["summary"])
    audit_after = AuditEvent.objects.count()
    second = _timed_run(daily, as_of)
    say(second["summary"])
    audit_rerun = AuditEvent.objects.count() - audit_after
    outcomes = counts_of_outcomes()
    totals = job_totals()
    connection.close()
    floor = raw_pass(args.backend, args.database, as_of, args.repeats)
    say(f"single SQL pass: {floor['seconds']} s over {floor['facilities']:,} facilities")
    n = generated["counts"]["facilities"]
    result = {
        "backend": args.backend,
        "database_version": _version(args.backend, args.database),
        "facilities": n,
        "as_of": args.as_of,
        "generated": generated,
        "first_run": first,
        "rerun": second,
        "rerun_changed": second["changed"],
        "rerun_audit_events": audit_rerun,
        "first_run_audit_events": audit_after - audit_before,
        "outcomes": outcomes,
        "raw_pass": floor,
        "job_totals": totals,
        "totals_match": totals == floor["totals"],
        "us_per_facility": {
            "first_run": round(first["seconds"] / n * 1e6, 1),
            "rerun": round(second["seconds"] / n * 1e6, 1),
            "raw_pass": round(floor["seconds"] / n * 1e6, 2),
        },
        "ratio_first_run": round(first["seconds"] / floor["seconds"], 1),
        "ratio_rerun": round(second["seconds"] / floor["seconds"], 1),
        "machine": machine(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    args.result.write_text(json.dumps(result, indent=2, default=str))
    return 0


def _timed_run(daily: Any, as_of: date) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    run = daily.run_daily(as_of=as_of)
    return {
        "seconds": round(time.perf_counter() - wall, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "changed": run.changed,
        "steps": {s.name: {"changed": s.changed, "seconds": round(s.seconds, 3)} for s in run.steps},
        "summary": run.summary(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _version(backend: str, url: str) -> str:
    if backend == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# --- the report --------------------------------------------------------------------------------------------
def render(results: list[dict[str, Any]]) -> str:
    """The RESULTS.md section: one column per backend."""
    steps = (
        "refresh_delinquency",
        "classify",
        "run_tests",
        "schedule_reviews",
        "evaluate_signals",
        "apply_watch_rules",
    )

    def run_cell(run: dict[str, Any]) -> str:
        return f"{run['seconds']:,.1f} s ({run['cpu_seconds']:,.1f} s CPU), {run['changed']:,} changed"

    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("database", lambda r: f"{r['backend']} {r['database_version']}"),
        (
            "facilities; instalments; covenants",
            lambda r: "{:,}; {:,}; {:,}".format(
                r["facilities"],
                r["generated"]["counts"]["instalments"],
                r["generated"]["counts"]["covenants"],
            ),
        ),
        ("**first run** (the day's changes)", lambda r: run_cell(r["first_run"])),
        *[(f"  {name}: changed, s", (lambda r, n=name: _step(r["first_run"], n))) for name in steps],
        (
            "**re-run, same day** (must change nothing)",
            lambda r: (
                run_cell(r["rerun"])
                + (" PASS" if r["rerun_changed"] == 0 and r["rerun_audit_events"] == 0 else " **MISS**")
            ),
        ),
        *[(f"  {name}: changed, s", (lambda r, n=name: _step(r["rerun"], n))) for name in steps],
        (
            "single SQL pass (arrears, DPD, outstanding; best of N)",
            lambda r: f"{r['raw_pass']['seconds']:,.2f} s",
        ),
        (
            "µs per facility: first run / re-run / SQL pass",
            lambda r: "{first_run:,.0f} / {rerun:,.0f} / {raw_pass:,.1f}".format(**r["us_per_facility"]),
        ),
        (
            "**ratio to the SQL pass: first run; re-run**",
            lambda r: f"{r['ratio_first_run']:,.0f}x; {r['ratio_rerun']:,.0f}x",
        ),
        ("job's arrears/DPD totals equal the SQL pass's", lambda r: "yes" if r["totals_match"] else "**no**"),
        (
            "first run wrote: audit events; classification changes; reviews scheduled; signals; watchlist",
            lambda r: "{:,}; {:,}; {:,}; {:,}; {:,}".format(
                r["first_run_audit_events"],
                r["outcomes"]["classification_changes"],
                r["outcomes"]["reviews"] - r["generated"]["counts"].get("reviews", 0),  # less those on file
                sum(r["outcomes"]["signals"].values()),
                r["outcomes"]["watchlist"],
            ),
        ),
        ("generation (not timed): seconds", lambda r: f"{r['generated']['seconds']:,.0f} s"),
        ("peak memory; load average (1 min)", lambda r: f"{r['peak_rss_mb']:,.0f} MB; {r['load_avg_1m']}"),
        ("date", lambda r: r["finished_at"]),
    ]
    lines = [
        "| measure | " + " | ".join(r["backend"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for label, cell in rows:
        cells = []
        for r in results:
            try:
                cells.append(cell(r))
            except (KeyError, TypeError, ValueError):
                cells.append("n/a")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _step(run: dict[str, Any], name: str) -> str:
    step = run["steps"].get(name)
    return "n/a" if step is None else f"{step['changed']:,}, {step['seconds']:,.2f} s"


INTRO = """The daily job (`monitoring.daily.run_daily`) over generated facilities with their schedules,
payments, covenants and statements, on a fresh database per backend; the floor is one aggregate query
over the same rows (outstanding principal, arrears and days past due per active facility from its current
schedule version) on a plain DB-API cursor. The first run does the day's work (every change with its
history and audit rows); the re-run on the same day must change nothing. Rerun:
`.venv/bin/python bench/daily.py` (`--facilities N`, `--backends sqlite,postgres`)."""


def write_section(out: Path) -> str:
    """Rewrite out/RESULTS.md (`report.refresh` adds this benchmark's section after the others); the table."""
    sys.path.insert(0, str(HERE))
    import report

    report.refresh(out)
    results = report.newest(out / "daily")
    return render(results) if results else "(no results yet)"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--facilities", type=int, default=FACILITIES)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument(
        "--as-of", default=datetime.now(UTC).date().isoformat(), help="the business day (default today)"
    )
    p.add_argument("--repeats", type=int, default=3, help="times the SQL pass is run (the best counts)")
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--database", help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.facilities < 1:
        p.error("--facilities must be at least 1")
    sys.path.insert(0, str(HERE))
    import run

    if args.result:
        os.environ.update(run.BENCH_ENV)
        os.environ["LENDCRM_DATABASE_URL"] = args.database
        return _child(args)
    (args.out / "daily").mkdir(parents=True, exist_ok=True)
    done = 0
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        workdir = Path(tempfile.mkdtemp(prefix=f"lendcrm-daily-{backend}-"))
        if backend == "postgres":
            why = run.pg_reachable()
            if why:
                print(f"  [postgres] SKIPPED: not reachable ({why})", flush=True)
                continue
            run.pg_recreate(PG_DB)
            url = f"{run.PG_SERVER}/{PG_DB}"
        else:
            url = f"sqlite:///{workdir / 'daily.sqlite3'}"
        result_file = workdir / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--backend", backend, "--database", url]
        cmd += ["--result", str(result_file), "--facilities", str(args.facilities), "--seed", str(args.seed)]
        cmd += ["--as-of", args.as_of, "--repeats", str(args.repeats)]
        print(f"  [{backend}] daily job over {args.facilities:,} facilities ...", flush=True)
        env = {**os.environ, **run.BENCH_ENV, "LENDCRM_DATABASE_URL": url}
        try:
            finished = subprocess.run(cmd, env=env, check=False)  # noqa: S603
        finally:
            if backend == "postgres":
                run.pg_recreate(PG_DB, create=False)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{workdir / 'daily.sqlite3'}{suffix}").unlink(missing_ok=True)
        if finished.returncode != 0:
            raise SystemExit(f"the daily benchmark on {backend} failed (exit {finished.returncode})")
        result = json.loads(result_file.read_text())
        now = datetime.now(UTC)
        result.update(date=now.strftime("%Y-%m-%d"), finished_at=now.isoformat(timespec="seconds"))
        path = args.out / "daily" / f"{backend}-{now.strftime('%Y%m%d')}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"  [{backend}] wrote {path}", flush=True)
        if result["rerun_changed"] or result["rerun_audit_events"]:
            raise SystemExit(
                f"the re-run on {backend} changed {result['rerun_changed']} rows: not idempotent"
            )
        done += 1
    print(write_section(args.out))
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
