"""The early-warning rules. Each reads what the bank holds about a chunk of parties in a fixed number of
queries and returns the conditions it finds, as `Hit`s: (party, facility, subject, severity, detail). The
subject names what a hit is about (a facility, a covenant test, a statement), so the evaluator refreshes
the open signal of the same rule and subject instead of raising another one.

A hit does not carry its sentence but what is needed to say it: a key of `MESSAGES` and its parameters
(JSON primitives: dates as ISO strings, decimals as strings, categories and review kinds as their codes,
names and references as held). `describe` turns them into the sentence in the active language — the
pages (template filter `signal_detail`) and the API (the request's language) call it at display time, so
a signal raised by the job under cron reads in Chinese for a Chinese reader.

Complaints are not a rule yet: interactions carry no kind that marks a complaint and the service desk,
where complaints will live, is not built; `SignalRule.COMPLAINTS` waits for it."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from lendcrm.monitoring.models import CovenantKind, CovenantTest, ProjectCashFlow, TestStatus
from lendcrm.monitoring.oversight_models import (
    Review,
    ReviewKind,
    ReviewStatus,
    Severity,
    Signal,
    SignalRule,
    WatchlistEntry,
)
from lendcrm.origination import ratios
from lendcrm.origination.models import CreditMemo, FinancialLine, FinancialStatement, StatementKind
from lendcrm.parties.models import Party
from lendcrm.servicing.models import Category, ClassificationChange, Drawdown, Facility, FacilityStatus
from lendcrm.servicing.services.classification import contagion_reviews

CATEGORY_RANK = {value: rank for rank, value in enumerate(Category.values)}
HUNDRED = Decimal(100)
ONE = Decimal(1)


# The sentences, by message key. The msgids are marked here and translated when shown (`describe`).
MESSAGES: dict[str, str] = {
    "days_past_due": gettext_noop("%(facility)s is %(days)d days past due."),
    "late_reporting": gettext_noop("%(name)s for the period to %(period)s was not received in time."),
    "covenant_breach": gettext_noop("%(name)s breached for the period to %(period)s."),
    "category_downgrade": gettext_noop(
        "%(facility)s was downgraded from %(previous)s to %(category)s on %(day)s."
    ),
    "grade_downgrade": gettext_noop("The risk grade went from %(before)d to %(after)d."),
    "revenue_decline": gettext_noop("Revenue fell %(share)s in the period to %(period)s."),
    "dscr_decline": gettext_noop("DSCR fell from %(before)s to %(now)s in the period to %(period)s."),
    "utilisation_spike": gettext_noop(
        "%(facility)s: utilisation up %(points)s points of the limit in %(days)d days."
    ),
    "kyc_overdue": gettext_noop("The KYC review was due on %(day)s."),
    "review_overdue": gettext_noop("The %(kind)s due on %(day)s has not been done."),
    "group_npl": gettext_noop("A member of the same group (party no. %(party)d) has a non-performing loan."),
}


def _shown(params: Mapping[str, object]) -> dict[str, object]:
    """Parameters as the sentence shows them, in the active language: codes become their labels."""
    out = dict(params)
    for name in ("previous", "category"):
        code = out.get(name)
        if isinstance(code, str) and code in Category.values:
            out[name] = Category(code).label
    kind = out.get("kind")
    if isinstance(kind, str) and kind in ReviewKind.values:
        out["kind"] = str(ReviewKind(kind).label).lower()
    if "share" in out:
        out["share"] = f"{out['share']} %"
    return out


def describe(key: str, params: Mapping[str, object], fallback: str = "") -> str:
    """The sentence of a message key and its parameters in the active language; `fallback` (the stored
    sentence) when the key is empty, unknown or its parameters do not fit."""
    template = MESSAGES.get(key)
    if template is None:
        return fallback
    try:
        return gettext(template) % _shown(params)
    except (KeyError, TypeError, ValueError):
        return fallback


def signal_text(signal: Signal) -> str:
    """A signal's sentence in the active language: the one function the pages (template filter
    `signal_detail`) and the API (`SignalSerializer.detail`) say it through."""
    return describe(signal.detail_key, signal.detail_params, signal.detail)


def watch_reason_text(entry: WatchlistEntry) -> str:
    """A watchlist entry's reason in the active language: the signal's message for an entry by rule, the
    text as written for one by hand."""
    return describe(entry.reason_key, entry.reason_params, entry.reason)


def in_default_language(key: str, params: Mapping[str, object]) -> str:
    """The sentence in the site's default language, the plain record kept in `Signal.detail`."""
    with translation.override(settings.LANGUAGE_CODE):
        return describe(key, params)[:500]


@dataclass(frozen=True)
class Hit:
    party_id: int
    facility_id: int | None
    rule: str
    subject: str
    severity: int
    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        """The sentence in the active language (for tests and logs)."""
        return describe(self.key, self.params)


def dpd_severity(days: int) -> int:
    """The delinquency buckets: 1-30 low, 31-60 medium, 61-90 high, over 90 critical."""
    if days > 90:
        return Severity.CRITICAL
    if days > 60:
        return Severity.HIGH
    if days > 30:
        return Severity.MEDIUM
    return Severity.LOW


def days_past_due(party_ids: list[int], as_of: date) -> list[Hit]:
    rows = Facility.objects.filter(
        borrower_id__in=party_ids, status=FacilityStatus.ACTIVE, days_past_due__gt=0
    ).values_list("borrower_id", "id", "reference", "days_past_due")
    return [
        Hit(
            party,
            facility,
            SignalRule.DAYS_PAST_DUE,
            f"facility:{facility}",
            dpd_severity(days),
            "days_past_due",
            {"facility": reference, "days": days},
        )
        for party, facility, reference, days in rows
    ]


def covenant_breaches(party_ids: list[int], as_of: date) -> list[Hit]:
    """The latest decided test of each covenant of an active facility, when it is a breach (a waiver
    still pending keeps it): financial and undertaking breaches are high, a report not received is
    late reporting (medium). A later pass or a waiver clears it."""
    tests = (
        CovenantTest.objects.filter(
            covenant__facility__borrower_id__in=party_ids,
            covenant__facility__status=FacilityStatus.ACTIVE,
            covenant__is_active=True,
        )
        .exclude(status=TestStatus.NOT_DUE)
        .order_by("covenant_id", "-period_end")
        .values_list(
            "id",
            "covenant_id",
            "status",
            "period_end",
            "covenant__name",
            "covenant__kind",
            "covenant__facility_id",
            "covenant__facility__borrower_id",
        )
    )
    seen: set[int] = set()
    hits = []
    for test_id, covenant_id, status, period_end, name, kind, facility, party in tests:
        if covenant_id in seen:
            continue
        seen.add(covenant_id)
        if status not in (TestStatus.BREACH, TestStatus.WAIVER_REQUESTED):
            continue
        values = {"name": name, "period": period_end.isoformat()}
        if kind == CovenantKind.REPORTING:
            rule, severity, key = SignalRule.LATE_REPORTING, Severity.MEDIUM, "late_reporting"
        else:
            rule, severity, key = SignalRule.COVENANT_BREACH, Severity.HIGH, "covenant_breach"
        hits.append(Hit(party, facility, rule, f"test:{test_id}", severity, key, values))
    return hits


def _category_severity(category: str) -> int:
    rank = CATEGORY_RANK.get(category, 0)
    if rank >= CATEGORY_RANK[Category.DOUBTFUL]:
        return Severity.CRITICAL
    if rank >= CATEGORY_RANK[Category.SUBSTANDARD]:
        return Severity.HIGH
    return Severity.MEDIUM


def rating_downgrades(party_ids: list[int], as_of: date) -> list[Hit]:
    """A facility's latest classification change made it worse, or the party's latest memo grade is worse
    than the one before — either within the last `LENDCRM_SIGNAL_DOWNGRADE_DAYS`."""
    since = as_of - timedelta(days=int(settings.LENDCRM_SIGNAL_DOWNGRADE_DAYS))
    hits = []
    changes = (
        ClassificationChange.objects.filter(
            facility__borrower_id__in=party_ids,
            facility__status=FacilityStatus.ACTIVE,
            effective_on__lte=as_of,
        )
        .order_by("facility_id", "-effective_on", "-recorded_at", "-id")
        .values_list(
            "id",
            "facility_id",
            "facility__borrower_id",
            "facility__reference",
            "category",
            "previous_category",
            "effective_on",
        )
    )
    seen: set[int] = set()
    for change_id, facility, party, reference, category, previous, effective_on in changes:
        if facility in seen:
            continue
        seen.add(facility)
        if effective_on < since or not previous:
            continue
        if CATEGORY_RANK.get(category, 0) <= CATEGORY_RANK.get(previous, 0):
            continue
        params: dict[str, object] = {
            "facility": reference,
            "previous": previous,
            "category": category,
            "day": effective_on.isoformat(),
        }
        hits.append(
            Hit(
                party,
                facility,
                SignalRule.RATING_DOWNGRADE,
                f"classification:{change_id}",
                _category_severity(category),
                "category_downgrade",
                params,
            )
        )
    memos = (
        CreditMemo.objects.filter(
            application__borrower_id__in=party_ids, risk_grade__isnull=False, completed_at__isnull=False
        )
        .order_by("application__borrower_id", "-completed_at", "-id")
        .values_list("id", "application__borrower_id", "risk_grade__grade", "completed_at")
    )
    latest: dict[int, tuple[int, int, date]] = {}
    previous_grade: dict[int, int] = {}
    for memo_id, party, grade, completed_at in memos:
        if completed_at is None:
            continue
        if party not in latest:
            latest[party] = (memo_id, grade, completed_at.date())
        elif party not in previous_grade:
            previous_grade[party] = grade
    for party, (memo_id, grade, completed_on) in latest.items():
        before = previous_grade.get(party)
        if before is None or grade <= before or not since <= completed_on <= as_of:
            continue
        severity = Severity.HIGH if grade - before >= 2 else Severity.MEDIUM
        grades: dict[str, object] = {"before": before, "after": grade}
        hits.append(
            Hit(
                party,
                None,
                SignalRule.RATING_DOWNGRADE,
                f"grade:{memo_id}",
                severity,
                "grade_downgrade",
                grades,
            )
        )
    return hits


def _statement_pairs(
    party_ids: list[int], as_of: date
) -> dict[int, tuple[FinancialStatement, ratios.Period, ratios.Period]]:
    """Each party's two latest reported (not projected) statements up to `as_of`, with their lines: the
    latest statement and both periods (two queries)."""
    statements = list(
        FinancialStatement.objects.filter(party_id__in=party_ids, period_end__lte=as_of)
        .exclude(kind=StatementKind.PROJECTED)
        .order_by("party_id", "-period_end", "kind", "-id")
        .only("id", "party_id", "period_end", "period_months", "kind")
    )
    pairs: dict[int, list[FinancialStatement]] = {}
    for statement in statements:
        taken = pairs.setdefault(statement.party_id, [])
        if len(taken) < 2 and all(s.period_end != statement.period_end for s in taken):
            taken.append(statement)
    wanted = [s.pk for taken in pairs.values() if len(taken) == 2 for s in taken]
    lines: dict[int, dict[str, Decimal]] = {}
    for statement_id, code, amount in FinancialLine.objects.filter(statement_id__in=wanted).values_list(
        "statement_id", "code", "amount"
    ):
        if amount is not None:
            lines.setdefault(statement_id, {})[code] = amount
    return {
        party: (
            taken[0],
            ratios.Period(lines.get(taken[0].pk, {}), taken[0].period_months),
            ratios.Period(lines.get(taken[1].pk, {}), taken[1].period_months),
        )
        for party, taken in pairs.items()
        if len(taken) == 2
    }


def _pct(share: Decimal) -> str:
    """A share as whole percentage points ("25"); `describe` adds the sign."""
    return str((share * HUNDRED).quantize(ONE))


def revenue_and_dscr(party_ids: list[int], as_of: date) -> list[Hit]:
    """Falling revenue (annualised, period on period) and falling corporate DSCR from the statements;
    falling project DSCR from a project's actual cash flows."""
    revenue_drop = Decimal(settings.LENDCRM_SIGNAL_REVENUE_DROP)
    hits = []
    for party, (latest, current, previous) in _statement_pairs(party_ids, as_of).items():
        growth = ratios.revenue_growth(current, previous)
        if growth is not None and -growth > revenue_drop:
            severity = Severity.HIGH if -growth > 2 * revenue_drop else Severity.MEDIUM
            params = {"share": _pct(-growth), "period": latest.period_end.isoformat()}
            subject = f"statement:{latest.pk}"
            hits.append(
                Hit(party, None, SignalRule.REVENUE_DECLINE, subject, severity, "revenue_decline", params)
            )
        hit = _dscr_hit(
            party,
            None,
            f"statement:{latest.pk}",
            ratios.dscr(current.lines),
            ratios.dscr(previous.lines),
            latest.period_end,
        )
        if hit is not None:
            hits.append(hit)
    flows = (
        ProjectCashFlow.objects.filter(project__party_id__in=party_ids, is_actual=True, period_end__lte=as_of)
        .order_by("project_id", "-period_end")
        .values_list(
            "project_id",
            "project__party_id",
            "project__facility_id",
            "period_end",
            "cfads",
            "principal",
            "interest",
        )
    )
    last_two: dict[int, list[tuple[int, int | None, date, Decimal | None]]] = {}
    for project, party, facility, period_end, cfads, principal, interest in flows:
        taken = last_two.setdefault(project, [])
        if len(taken) < 2:
            service = (principal or 0) + (interest or 0)
            value = (cfads / service).quantize(ratios.RATIO_PLACES) if cfads is not None and service else None
            taken.append((party, facility, period_end, value))
    for project, taken in last_two.items():
        if len(taken) == 2:
            owner, funded, period_end, value = taken[0]
            hit = _dscr_hit(
                owner, funded, f"project:{project}:{period_end.isoformat()}", value, taken[1][3], period_end
            )
            if hit is not None:
                hits.append(hit)
    return hits


def _dscr_hit(
    party: int,
    facility: int | None,
    subject: str,
    now: Decimal | None,
    before: Decimal | None,
    period_end: date,
) -> Hit | None:
    if now is None or before is None or before <= 0:
        return None
    drop = (before - now) / before
    if drop <= Decimal(settings.LENDCRM_SIGNAL_DSCR_DROP):
        return None
    severity = Severity.HIGH if now < ONE else Severity.MEDIUM
    params = {"before": str(before), "now": str(now), "period": period_end.isoformat()}
    return Hit(party, facility, SignalRule.DSCR_DECLINE, subject, severity, "dscr_decline", params)


def utilisation_spikes(party_ids: list[int], as_of: date) -> list[Hit]:
    """Drawn more than `LENDCRM_SIGNAL_UTILISATION_POINTS` of the limit within the last
    `LENDCRM_SIGNAL_UTILISATION_DAYS` days, on facilities older than that window (so the first drawdown
    after booking is not a spike). Repayments in the window are not netted off."""
    days = int(settings.LENDCRM_SIGNAL_UTILISATION_DAYS)
    points = Decimal(settings.LENDCRM_SIGNAL_UTILISATION_POINTS)
    since = as_of - timedelta(days=days)
    rows = (
        Drawdown.objects.filter(
            facility__borrower_id__in=party_ids,
            facility__status=FacilityStatus.ACTIVE,
            facility__start_date__lte=since,
            value_date__gt=since,
            value_date__lte=as_of,
        )
        .values("facility_id", "facility__borrower_id", "facility__reference", "facility__limit")
        .annotate(drawn=Sum("amount"))
    )
    hits = []
    for row in rows:
        up = row["drawn"] * HUNDRED / row["facility__limit"]
        if up <= points:
            continue
        severity = Severity.HIGH if up > 2 * points else Severity.MEDIUM
        params = {"facility": row["facility__reference"], "points": str(up.quantize(ONE)), "days": days}
        hits.append(
            Hit(
                row["facility__borrower_id"],
                row["facility_id"],
                SignalRule.UTILISATION_SPIKE,
                f"facility:{row['facility_id']}",
                severity,
                "utilisation_spike",
                params,
            )
        )
    return hits


def kyc_overdue(party_ids: list[int], as_of: date) -> list[Hit]:
    """The party's KYC review date has passed: low, medium after 90 days."""
    rows = Party.objects.filter(pk__in=party_ids, kyc_next_review__lt=as_of).values_list(
        "id", "kyc_next_review"
    )
    return [
        Hit(
            party,
            None,
            SignalRule.KYC_OVERDUE,
            "kyc",
            Severity.MEDIUM if (as_of - due).days > 90 else Severity.LOW,
            "kyc_overdue",
            {"day": due.isoformat()},
        )
        for party, due in rows
        if due is not None
    ]


def reviews_overdue(party_ids: list[int], as_of: date) -> list[Hit]:
    """A scheduled review or visit is past its due date: medium, high after 90 days."""
    rows = Review.objects.filter(
        party_id__in=party_ids, status=ReviewStatus.SCHEDULED, due_date__lt=as_of
    ).values_list("id", "party_id", "facility_id", "kind", "due_date")
    return [
        Hit(
            party,
            facility,
            SignalRule.REVIEW_OVERDUE,
            f"review:{review}",
            Severity.HIGH if (as_of - due).days > 90 else Severity.MEDIUM,
            "review_overdue",
            {"kind": kind, "day": due.isoformat()},
        )
        for review, party, facility, kind, due in rows
    ]


RULES: tuple[Callable[[list[int], date], list[Hit]], ...] = (
    days_past_due,
    covenant_breaches,
    rating_downgrades,
    revenue_and_dscr,
    utilisation_spikes,
    kyc_overdue,
    reviews_overdue,
)


def evaluate(party_ids: list[int], as_of: date) -> list[Hit]:
    """Every rule over one chunk of parties."""
    return [hit for rule in RULES for hit in rule(party_ids, as_of)]


def group_npl(as_of: date, party_ids: list[int] | None) -> dict[int, list[Hit]]:
    """A group member's non-performing loan is a reason to review the other members (DOMAIN.md: a review,
    not a downgrade): medium, per member and NPL party. Computed once per run, not per chunk, because
    the classification service walks the groups of the NPL borrowers."""
    found = contagion_reviews(as_of=as_of, party_ids=party_ids)
    hits: dict[int, list[Hit]] = {}
    for member, npl, _facility in found:
        # The member's readers may not see the NPL party (another branch): its number, never its name.
        hits.setdefault(member, []).append(
            Hit(
                member,
                None,
                SignalRule.GROUP_NPL,
                f"group_npl:{npl}",
                Severity.MEDIUM,
                "group_npl",
                {"party": npl},
            )
        )
    return hits
