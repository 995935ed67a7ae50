"""Routing and the authority check for an application whose borrower's group has 1,000 connected parties.

    .venv/bin/python bench/routing.py                          # SQLite and PostgreSQL, fresh databases
    .venv/bin/python bench/routing.py --backends sqlite --requests 100

Each backend gets a fresh, migrated database (SQLite: a temporary file; PostgreSQL: `bench_lendcrm_routing`
on 127.0.0.1:5432, dropped afterwards) in a child process. `build` adds a group of 1,000 parties linked to
the borrower (a tree ten wide, by parent, group, sponsor and guarantor links), approved applications on
every tenth member in three currencies, and the application under test with its graded memo; an approver
holds head-office authority. Timed, after a warm-up: `route_application` (reads and the routing write with
its audit event, one committed transaction) followed by `check_authority` (reads only), as a decision
runs them. Queries are counted on every request, and once more with a group of ten parties: the count
must be the same. The floor is the check's reads as hand-written SQL on a plain DB-API cursor
(`RawReads`). `make bench` runs `measure` in its API phase too, on the 100,000-party bank.

Results: <out>/routing/<backend>-<YYYYMMDD>.json and the section of <out>/RESULTS.md (bench/report.py).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PG_DB = "bench_lendcrm_routing"
GROUP = 1_000
SMALL_GROUP = 10


def build(size: int, tag: str) -> tuple[Any, Any]:
    """A borrower with `size` connected parties and their approved applications; (application, approver)."""
    from django.db import transaction
    from django.utils import timezone

    from lendcrm.core import services as core_services
    from lendcrm.core.models import Branch
    from lendcrm.core.roles import Role
    from lendcrm.origination.models import (
        Application,
        ApplicationFacility,
        ApplicationParty,
        AuthorityLevel,
        CreditMemo,
        Delegation,
        MemoRevision,
        RiskGrade,
        Status,
    )
    from lendcrm.parties.models import Party, Relationship
    from lendcrm.pipeline.models import Product

    kinds = ("parent_of", "member_of_group", "sponsor_of", "guarantor_of")
    currencies = ("CNY", "USD", "EUR")
    now = timezone.now()
    with transaction.atomic():
        branch = Branch.objects.create(code=f"RT{tag}", name=f"Routing bench {tag}")
        make = core_services.create_user
        rm = make(actor=None, username=f"bench.rm.{tag}", roles=[Role.RELATIONSHIP_MANAGER], branch=branch)
        analyst = make(
            actor=None, username=f"bench.analyst.{tag}", roles=[Role.CREDIT_ANALYST], branch=branch
        )
        approver = make(
            actor=None, username=f"bench.approver.{tag}", roles=[Role.CREDIT_APPROVER], branch=branch
        )
        Delegation.objects.create(
            user=approver,
            level=AuthorityLevel.objects.get(slug="head_office_credit"),
            valid_from=timezone.localdate() - timedelta(days=30),
            expires_on=timezone.localdate() + timedelta(days=365),
        )
        parties = Party.objects.bulk_create(
            [Party(kind="corporate", legal_name=f"Routing {tag} {i}", branch=branch) for i in range(size + 1)]
        )
        Relationship.objects.bulk_create(
            [
                Relationship(from_party=parties[(i - 1) // 10], to_party=parties[i], kind=kinds[i % 4])
                for i in range(1, size + 1)
            ]
        )
        products = {p.code: p for p in Product.objects.all()}

        def application(borrower: Any, status: str, facilities: list[tuple[str, int, str]]) -> Any:
            app = Application.objects.create(
                reference=f"BENCH-{tag}-{borrower.pk}-{status}",
                borrower=borrower,
                branch=branch,
                status=status,
                status_entered_at=now,
                owner=rm,
                analyst=analyst,
            )
            ApplicationParty.objects.create(application=app, party=borrower, role="borrower")
            ApplicationFacility.objects.bulk_create(
                [
                    ApplicationFacility(
                        application=app,
                        product=products[code],
                        amount=amount,
                        currency=currency,
                        tenor_months=36,
                        repayment_profile="annuity",
                        rate_type="fixed",
                        fixed_rate_pct=4,
                        lgd="0.40",
                        position=n,
                    )
                    for n, (code, amount, currency) in enumerate(facilities)
                ]
            )
            return app

        for i in range(10, size + 1, 10):
            application(parties[i], Status.APPROVED, [("term_loan", 200_000 + i, currencies[i % 3])])
        app = application(
            parties[0],
            Status.PENDING_DECISION,
            [("working_capital", 3_000_000, "CNY"), ("term_loan", 1_000_000, "USD")],
        )
        memo = CreditMemo.objects.create(
            application=app, analyst=analyst, risk_grade=RiskGrade.objects.get(grade=5), completed_at=now
        )
        MemoRevision.objects.create(memo=memo, version=1, content={}, saved_at=now, saved_by=analyst)
    return Application.objects.get(pk=app.pk), approver


def _route(application: Any) -> None:
    from django.db import transaction

    from lendcrm.origination import authority

    with transaction.atomic():
        authority.route_application(application)


def _route_and_check(application: Any, approver: Any) -> Any:
    from lendcrm.origination import authority

    _route(application)
    return authority.check_authority(approver=approver, application=application)


def _queries(call: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def measure(args: Any) -> dict[str, Any]:
    """Route + check timed `args.requests` times after `args.warmup`, with query counts and the raw floor."""
    from django.db import connection

    from lendcrm.origination import authority
    from phases import _time_calls, say, summary_ms

    application, approver = build(GROUP, "L")
    small, small_approver = build(SMALL_GROUP, "S")
    if connection.vendor == "postgresql":  # what autovacuum does shortly after a bulk load (as run.py)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    level, _matrix, _exposure = _route_and_check(application, approver)
    exposure = authority.group_exposure(application, viewer=approver)
    say(f"routing: {exposure.member_count} parties, {exposure.total:,} {exposure.currency}; {level.slug}")
    for _ in range(args.warmup):
        _route_and_check(application, approver)
    runs = range(args.requests)
    both = summary_ms(_time_calls(lambda _i: _route_and_check(application, approver), runs))
    route = summary_ms(_time_calls(lambda _i: _route(application), runs))
    check = summary_ms(
        _time_calls(lambda _i: authority.check_authority(approver=approver, application=application), runs)
    )
    counts = [_queries(lambda: _route_and_check(application, approver)) for _ in range(20)]
    small_counts = [_queries(lambda: _route_and_check(small, small_approver)) for _ in range(5)]
    both.update(
        queries_min=min(counts),
        queries_max=max(counts),
        queries_small_group=max(small_counts),
        queries_constant=min(counts) == max(counts) == max(small_counts) == min(small_counts),
    )
    check["queries"] = _queries(lambda: authority.check_authority(approver=approver, application=application))
    ids = (application.pk, application.borrower_id, approver.pk, application.memo.pk)
    connection.close()
    raw = RawReads(args.backend, args.database, *ids)
    for _ in range(args.warmup):
        raw.check()
    floor = summary_ms(_time_calls(lambda _i: raw.check(), runs))
    floor["queries"] = len(raw.sql)
    floor["group_total_matches"] = raw.total() == exposure.total
    raw.conn.close()
    return {
        "group_parties": exposure.member_count,
        "group_exposure": str(exposure.total),
        "level": level.slug,
        "route_and_check": both,
        "route": route,
        "check": check,
        "raw_check": floor,
        "check_vs_raw_p50": round(check["p50_ms"] / floor["p50_ms"], 1),
    }


class RawReads:
    """The authority check's reads in hand-written SQL (one statement each, the group walk being the
    application's own recursive query), on a plain DB-API cursor."""

    def __init__(
        self, backend: str, url: str, application_id: int, borrower_id: int, user_id: int, memo_id: int
    ) -> None:
        from lendcrm.origination.authority import EXPOSURE_STATUSES
        from lendcrm.parties import graph
        from lendcrm.parties.models import CONNECTING_KINDS
        from phases import raw_connect

        self.conn = raw_connect(backend, url)
        self.cursor = self.conn.cursor()
        m = "?" if backend == "sqlite" else "%s"
        counted = ", ".join(f"'{status}'" for status in EXPOSURE_STATUSES)
        # The same recursive walk the application runs (parties.graph), as a subquery.
        walk = graph.connecting(borrower_id, CONNECTING_KINDS)
        closure = walk.sql.replace("%s", m)
        active = "JOIN origination_authoritymatrix x ON x.id = l.matrix_id AND x.status = 'active'"
        facilities = (
            "origination_applicationfacility f JOIN origination_application a ON a.id = f.application_id"
        )
        self.sql: list[tuple[str, tuple[Any, ...]]] = [
            (
                f"SELECT l.*, v.*, x.*, p.product_id FROM origination_authoritylimit l {active} "
                "JOIN origination_authoritylevel v ON v.id = l.level_id LEFT JOIN "
                "origination_authoritylimit_products p ON p.authoritylimit_id = l.id ORDER BY v.rank",
                (),
            ),
            (
                "SELECT m.*, g.grade FROM origination_creditmemo m LEFT JOIN origination_riskgrade g "
                f"ON g.id = m.risk_grade_id WHERE m.application_id = {m}",
                (application_id,),
            ),
            (
                "SELECT f.currency, f.product_id, "
                f"SUM(CASE WHEN a.id <> {m} THEN f.amount END), SUM(CASE WHEN a.id = {m} THEN f.amount END) "
                f"FROM {facilities} WHERE a.borrower_id IN ({closure}) AND (a.id = {m} OR a.status IN "
                f"({counted})) GROUP BY f.currency, f.product_id",
                (application_id, application_id, *walk.params, application_id),
            ),
            (f"SELECT DISTINCT saved_by_id FROM origination_memorevision WHERE memo_id = {m}", (memo_id,)),
            (
                "SELECT d.*, v.* FROM origination_delegation d JOIN origination_authoritylevel v "
                f"ON v.id = d.level_id WHERE d.user_id = {m}",
                (user_id,),
            ),
        ]

    def check(self) -> list[list[Any]]:
        out = []
        for sql, params in self.sql:
            self.cursor.execute(sql, params)
            out.append(self.cursor.fetchall())
        return out

    def total(self) -> Any:
        """The group total from the raw sums (per currency, then converted, as the application does), to
        prove the floor reads the same rows."""
        from decimal import Decimal

        from lendcrm.origination.risk import to_base

        sums: dict[str, list[Decimal]] = {}
        for currency, _product, existing, requested in self.check()[2]:
            pair = sums.setdefault(currency, [Decimal(0), Decimal(0)])
            pair[0] += Decimal(existing or 0)
            pair[1] += Decimal(requested or 0)
        return sum(to_base(e, currency) + to_base(r, currency) for currency, (e, r) in sums.items())


# --- standalone run ---------------------------------------------------------------------------------
def _child(args: argparse.Namespace) -> int:
    from phases import machine, migrate, peak_rss_mb, setup

    setup()
    migrate()
    result = measure(args)
    result.update(
        backend=args.backend,
        database_version=_version(args.backend),
        machine=machine(),
        peak_rss_mb=round(peak_rss_mb(), 1),
    )
    args.result.write_text(json.dumps(result, indent=2, default=str))
    return 0


def _version(backend: str) -> str:
    from django.db import connection

    if backend == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def targets(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    both = r["route_and_check"]
    return {
        "routing_p95_ms": {"target": "< 50", "value": both["p95_ms"], "pass": both["p95_ms"] < 50},
        "routing_queries_constant": {
            "target": "min == max, also at 10 parties",
            "value": [both["queries_min"], both["queries_max"], both["queries_small_group"]],
            "pass": both["queries_constant"],
        },
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--database", help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import run

    if args.result:
        os.environ.update(run.BENCH_ENV)
        os.environ["LENDCRM_DATABASE_URL"] = args.database
        return _child(args)
    (args.out / "routing").mkdir(parents=True, exist_ok=True)
    done = 0
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        workdir = Path(tempfile.mkdtemp(prefix=f"lendcrm-routing-{backend}-"))
        if backend == "postgres":
            why = run.pg_reachable()
            if why:
                print(f"  [postgres] SKIPPED: not reachable ({why})", flush=True)
                continue
            run.pg_recreate(PG_DB)
            url = f"{run.PG_SERVER}/{PG_DB}"
        else:
            url = f"sqlite:///{workdir / 'routing.sqlite3'}"
        result_file = workdir / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--backend", backend, "--database", url]
        cmd += ["--result", str(result_file), "--requests", str(args.requests), "--warmup", str(args.warmup)]
        print(f"  [{backend}] routing and authority check ...", flush=True)
        env = {**os.environ, **run.BENCH_ENV, "LENDCRM_DATABASE_URL": url}
        try:
            finished = subprocess.run(cmd, env=env, check=False)  # noqa: S603
        finally:
            if backend == "postgres":
                run.pg_recreate(PG_DB, create=False)
        if finished.returncode != 0:
            raise SystemExit(f"the routing benchmark on {backend} failed (exit {finished.returncode})")
        result = json.loads(result_file.read_text())
        now = datetime.now(UTC)
        result.update(date=now.strftime("%Y-%m-%d"), finished_at=now.isoformat(timespec="seconds"))
        result["targets"] = targets(result)
        path = args.out / "routing" / f"{backend}-{now.strftime('%Y%m%d')}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"  [{backend}] wrote {path}", flush=True)
        done += 1
    import report

    report.refresh(args.out)
    print(report.render_routing(report.newest(args.out / "routing")))
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
