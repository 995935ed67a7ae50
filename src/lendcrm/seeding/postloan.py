"""Demo post-loan book for the demo RM's customers: a term loan paid on time (with a DSCR covenant the
latest statements breach), a revolving line (reviewed by the RM: it has no monitoring officer), a
project-finance loan in construction with its cash-flow projection, a loan in arrears, a restructured
one, and an application approved and ready to disburse for loan operations to book; then the daily job,
which raises the signals, puts parties on the watchlist and schedules the reviews. Like `seeding.credit`,
everything goes through the services (booking, drawdowns, repayments, covenants, statements, projects,
restructuring, watchlist), as the demo staff would have done it, on dates in the past."""

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.monitoring import daily
from lendcrm.monitoring.services import covenants, projects, statements, watchlist
from lendcrm.origination.models import Application, Status
from lendcrm.origination.services import applications, decisions, memo, offers
from lendcrm.parties.models import Coverage, Party
from lendcrm.seeding.credit import STATEMENT
from lendcrm.servicing.models import Facility, Instalment
from lendcrm.servicing.services import book_application, draw
from lendcrm.servicing.services.repayments import post_repayment
from lendcrm.servicing.services.restructuring import decide_restructuring, request_restructuring

Say = Callable[[str], None]
STAFF = ("analyst", "approver", "ops", "monitor")  # the demo logins who do the work beside the RM


def _months_ago(today: date, months: int) -> date:
    month = today.month - 1 - months
    year, month = today.year + month // 12, month % 12 + 1
    return date(year, month, min(today.day, 28))


def _facility(product: str, amount: str, tenor: int, **terms: Any) -> dict[str, Any]:
    return {
        "product": product,
        "amount": Decimal(amount),
        "currency": "CNY",
        "tenor_months": tenor,
        "repayment_profile": terms.pop("repayment_profile", "annuity"),
        "rate_type": "fixed",
        "fixed_rate_pct": Decimal(terms.pop("rate", "4.35")),
        **terms,
    }


def _ready(
    staff: dict[str, User], party: Party, facility: dict[str, Any], grade: int, purpose: str
) -> Application:
    """An application of `party` walked through analysis, approval and the offer to ready to disburse."""
    rm, analyst, approver = staff["rm"], staff["analyst"], staff["approver"]
    application = applications.create_application(
        actor=rm, borrower_id=party.pk, purpose=purpose, facilities=[facility]
    )
    pk = application.pk
    applications.transition(actor=rm, application_id=pk, to_status=Status.SUBMITTED)
    for status in (Status.IN_REVIEW, Status.CREDIT_ANALYSIS):
        applications.transition(actor=analyst, application_id=pk, to_status=status)
    memo.save_memo(
        actor=analyst,
        application_id=pk,
        changes={
            "risk_grade": grade,
            "grade_rationale": "Demo grade.",
            "business": "Long-standing customer of the branch.",
            "recommendation": "Approve as proposed.",
        },
    )
    memo.complete_memo(actor=analyst, application_id=pk)
    applications.transition(actor=analyst, application_id=pk, to_status=Status.PENDING_DECISION)
    decisions.decide(actor=approver, application_id=pk, outcome="approved", comment="Within appetite.")
    offer = offers.issue_offer(
        actor=rm, application_id=pk, expires_on=timezone.localdate() + timedelta(days=30)
    )
    offers.accept_offer(actor=rm, offer_id=offer.pk)
    applications.transition(actor=rm, application_id=pk, to_status=Status.CONDITIONS_MET)
    for item in Application.objects.get(pk=pk).checklist.all():
        applications.update_checklist_item(
            actor=analyst, application_id=pk, item_id=item.pk, status="verified"
        )
    applications.transition(actor=rm, application_id=pk, to_status=Status.READY_TO_DISBURSE)
    return Application.objects.get(pk=pk)


def _book(
    staff: dict[str, User], application: Application, start: date, draw_amount: Decimal | None, **booking: Any
) -> Facility:
    approved = application.facilities.get()
    [facility] = book_application(
        actor=staff["ops"],
        application_id=application.pk,
        start_date=start,
        facilities=[{"application_facility": approved.pk, "monitor": staff["monitor"].pk, **booking}],
    )
    if draw_amount:
        draw(
            actor=staff["ops"],
            facility_id=facility.pk,
            amount=draw_amount,
            value_date=start,
            reference="DD-1",
        )
    return Facility.objects.get(pk=facility.pk)


def _pay_due(staff: dict[str, User], facility: Facility, *, before: date, skip_last: int = 0) -> int:
    """Pay what is due before `before` on each due date but the last `skip_last` ones; how many paid."""
    facility.refresh_from_db()
    lines = list(
        Instalment.objects.filter(
            facility=facility, schedule_version=facility.schedule_version, due_date__lt=before
        ).order_by("number")
    )
    paid = 0
    for line in lines[: len(lines) - skip_last]:
        owed = (
            (line.principal - line.principal_paid)
            + (line.interest - line.interest_paid)
            + (line.fees - line.fees_paid)
        )
        if owed <= 0:
            continue
        post_repayment(
            actor=staff["ops"],
            facility_id=facility.pk,
            amount=owed,
            value_date=line.due_date,
            reference=f"RP-{facility.reference}-{line.number}",
            today=line.due_date,
        )
        paid += 1
    return paid


def _statement(staff: dict[str, User], party: Party, year_end: date, scale: str, repaid: str) -> None:
    lines = {code: Decimal(value) * Decimal(scale) for code, value in STATEMENT.items()}
    lines["principal_repaid"] = Decimal(repaid)
    statements.submit_statement(
        actor=staff["monitor"],
        party_id=party.pk,
        period_end=year_end,
        period_months=12,
        kind="audited",
        currency="CNY",
        lines=lines,
    )


def _parties(rm: User, count: int) -> list[Party]:
    """Corporate parties the demo RM leads that the credit demo has not used (it takes the first eight)."""
    led = Coverage.objects.filter(user=rm, role="lead").values("party_id")
    return list(
        Party.objects.filter(pk__in=led)
        .exclude(kind__in=("individual", "sole_trader"))
        .exclude(applications__isnull=False)
        .order_by("pk")[8 : 8 + count]
    )


def seed_demo_postloan(*, rm: User, say: Say | None = None) -> bool:
    """The demo loan book, made once (returns False when facilities exist, a demo login is missing or the
    RM leads too few parties); the work is done as the demo analyst, approver, ops and monitor."""
    say = say or (lambda _line: None)
    staff = {u.username: u for u in User.objects.filter(username__in=STAFF)}
    parties = _parties(rm, 6)
    if Facility.objects.exists() or len(staff) < len(STAFF) or len(parties) < 6:
        return False
    staff["rm"] = rm
    today = timezone.localdate()
    term_party, revolving_party, project_party, late_party, restructured_party, waiting_party = parties
    year_end = date(today.year - 1, 12, 31)

    # A five-year quarterly annuity, 15 months in, paid on time; DSCR covenant, breached by the latest year.
    start = _months_ago(today, 15)
    term = _book(
        staff,
        _ready(staff, term_party, _facility("term_loan", "20000000", 60), 4, "New production line"),
        start,
        Decimal("20000000"),
        frequency_months=3,
    )
    _pay_due(staff, term, before=today)
    covenants.add_covenant(
        actor=staff["monitor"],
        facility_id=term.pk,
        kind="financial",
        name="Minimum DSCR 1.25x",
        metric="dscr",
        bound="min",
        threshold=Decimal("1.25"),
        first_test_date=year_end,
        frequency_months=12,
        due_days=120,
    )
    _statement(staff, term_party, date(today.year - 2, 12, 31), "1", "4500000")
    _statement(staff, term_party, year_end, "0.8", "9000000")  # revenue down a fifth, DSCR below 1.25
    say(f"{term.reference}: term loan paid on time; its DSCR covenant breached by {year_end.year}")

    # A revolving line of 10M, 6M drawn, interest quarterly; no monitoring officer, so the RM reviews it.
    start = _months_ago(today, 5)
    revolving = _book(
        staff,
        _ready(
            staff,
            revolving_party,
            _facility("revolving_facility", "10000000", 24, repayment_profile="bullet", rate="3.95"),
            3,
            "Working capital line",
        ),
        start,
        Decimal("6000000"),
        frequency_months=3,
        monitor=None,
    )
    _pay_due(staff, revolving, before=today)
    covenants.add_covenant(
        actor=staff["monitor"],
        facility_id=revolving.pk,
        kind="reporting",
        name="Quarterly management accounts",
        document="management_accounts",
        first_test_date=_months_ago(today, 3),
        frequency_months=3,
        due_days=45,
    )
    say(f"{revolving.reference}: revolving line, 6,000,000 of 10,000,000 drawn")

    # Project finance: two years of construction (interest capitalised), then semi-annual repayments.
    start = _months_ago(today, 10)
    project_facility = _book(
        staff,
        _ready(
            staff,
            project_party,
            _facility("project_finance", "150000000", 180, repayment_profile="equal_principal", rate="4.90"),
            5,
            "Solar farm, 200 MW",
        ),
        start,
        Decimal("60000000"),
        frequency_months=6,
        construction_end=_months_ago(today, -14),
    )
    project = projects.create_project(
        actor=staff["monitor"],
        party_id=project_party.pk,
        name="Gobi Solar Farm 200 MW",
        facility_id=project_facility.pk,
    )
    projects.save_cash_flows(
        actor=staff["monitor"], project_id=project.pk, rows=_projection(project_facility)
    )
    covenants.add_covenant(
        actor=staff["monitor"],
        facility_id=project_facility.pk,
        kind="financial",
        name="Project DSCR at least 1.20x",
        metric="project_dscr",
        bound="min",
        threshold=Decimal("1.20"),
        first_test_date=project_facility.construction_end or today,
        frequency_months=6,
        due_days=60,
    )
    say(f"{project_facility.reference}: project finance in construction, with its cash-flow projection")

    # A monthly annuity whose last four instalments were not paid.
    start = _months_ago(today, 8)
    late = _book(
        staff,
        _ready(staff, late_party, _facility("working_capital", "5000000", 36, rate="5.20"), 6, "Inventory"),
        start,
        Decimal("5000000"),
    )
    _pay_due(staff, late, before=today, skip_last=4)
    say(f"{late.reference}: in arrears, four instalments unpaid")

    # A term loan extended by a year after a hard season (asked by the RM, approved by the approver).
    start = _months_ago(today, 18)
    restructured = _book(
        staff,
        _ready(
            staff, restructured_party, _facility("term_loan", "8000000", 36, rate="4.60"), 5, "Fleet renewal"
        ),
        start,
        Decimal("8000000"),
    )
    _pay_due(staff, restructured, before=today)
    change = request_restructuring(
        actor=rm,
        facility_id=restructured.pk,
        kind="term_extension",
        terms={"maturity_date": _months_ago(restructured.maturity_date, -12)},
        reason="Freight volumes fell a third this year; a longer tenor keeps the instalments affordable.",
        effective_on=today,
    )
    decide_restructuring(actor=staff["approver"], restructuring_id=change.pk, approve=True, note="Agreed.")
    say(f"{restructured.reference}: restructured (term extended by a year)")

    # Approved and ready to disburse: for loan operations to book in the demo.
    ready = _ready(staff, waiting_party, _facility("term_loan", "12000000", 48, rate="4.15"), 4, "Warehouse")
    say(f"{ready.reference}: ready to disburse, waiting to be booked")

    run = daily.run_daily(as_of=today)
    say(run.summary())
    if not watchlist_entry_exists(late_party):
        watchlist.add_to_watchlist(
            actor=staff["monitor"],
            party_id=late_party.pk,
            reason="Four instalments unpaid; the owner is selling assets.",
            owner_id=staff["monitor"].pk,
            review_date=today + timedelta(days=14),
            action_plan="Weekly call with the CFO; agree a repayment plan within a month.",
        )
    return True


def watchlist_entry_exists(party: Party) -> bool:
    return party.watchlist_entries.exclude(status="exited").exists()


def _projection(facility: Facility) -> Sequence[dict[str, Any]]:
    """Semi-annual projection from the end of construction: revenue growing slowly, costs and tax."""
    rows = []
    first = facility.construction_end or facility.start_date
    for n in range(20):
        period_end = _months_ago(first, -6 * n)
        revenue = Decimal(14_000_000) + Decimal(150_000) * n
        rows.append(
            {
                "period_end": period_end,
                "revenue": revenue,
                "operating_costs": (revenue * Decimal("0.22")).quantize(Decimal("0.01")),
                "tax": (revenue * Decimal("0.08")).quantize(Decimal("0.01")),
                "maintenance_capex": Decimal(400_000),
                "working_capital_change": Decimal(0),
                "reserve_movement": Decimal(0),
            }
        )
    return rows
