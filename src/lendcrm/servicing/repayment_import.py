"""Repayments imported from a core-banking file: CSV with a header naming the columns `facility` (the
facility's reference), `reference` (the repayment's), `value_date` (YYYY-MM-DD), `amount` (a decimal with
a point), `currency` and optionally `is_prepayment` (true/false, yes/no, 1/0; empty is false).

All or nothing: every row is checked and posted through `post_repayment` inside one transaction; if any row
is refused, nothing is kept and every refusal is reported by the file's line number (the header is line 1),
e.g. `rows.5.amount`. Rows are posted in value-date order (then file order), so a file need not be sorted.
A row whose reference was already posted with the same details is reported as such and changes nothing,
so a file can be sent again."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.servicing.models import Repayment, RepaymentSource
from lendcrm.servicing.selectors import visible_facilities
from lendcrm.servicing.services.repayments import may_post, post_repayment

REQUIRED = ("facility", "reference", "value_date", "amount", "currency")
OPTIONAL = ("is_prepayment",)
YES = {"true", "yes", "1", "y"}
NO = {"false", "no", "0", "n", ""}


@dataclass(frozen=True)
class ImportedRow:
    line: int
    facility: str
    reference: str
    repayment: Repayment
    already_posted: bool


@dataclass(frozen=True)
class _Row:
    line: int
    facility: str
    reference: str
    value_date: date | None
    amount: Decimal | None
    currency: str
    is_prepayment: bool


def _text(content: str | bytes) -> str:
    if isinstance(content, bytes):
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise errors.field_error("file", _("The file must be UTF-8 text.")) from exc
    return content.removeprefix("\ufeff")


def parse(content: str | bytes) -> tuple[list[_Row], dict[str, list[str]]]:
    """The rows as typed, and the problems found without the database (by line and column)."""
    reader = csv.reader(io.StringIO(_text(content), newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise errors.field_error("file", _("The file is empty.")) from exc
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        raise errors.field_error(
            "file",
            _("The header must name the columns %(columns)s (and optionally is_prepayment), each once.")
            % {"columns": ", ".join(REQUIRED)},
            code="bad_header",
        )
    limit = int(settings.LENDCRM_REPAYMENT_IMPORT_MAX_ROWS)
    rows: list[_Row] = []
    problems: dict[str, list[str]] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= limit:
                raise errors.field_error(
                    "file", _("A file may hold at most %(n)d rows.") % {"n": limit}, code="too_many_rows"
                )
            if len(values) != len(header):
                problems[f"rows.{line}"] = [_("Expected %(n)d columns.") % {"n": len(header)}]
                continue
            rows.append(_row(line, dict(zip(header, (v.strip() for v in values), strict=True)), problems))
    except csv.Error as exc:
        raise errors.field_error("file", _("The file is not valid CSV.")) from exc
    if not rows and not problems:
        raise errors.field_error("file", _("The file has no rows."))
    return rows, problems


def _row(line: int, cells: dict[str, str], problems: dict[str, list[str]]) -> _Row:
    def problem(column: str, message: str) -> None:
        problems.setdefault(f"rows.{line}.{column}", []).append(message)

    value_date = amount = None
    try:
        value_date = date.fromisoformat(cells["value_date"])
    except ValueError:
        problem("value_date", _("Give the date as YYYY-MM-DD."))
    try:
        amount = Decimal(cells["amount"])
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problem("amount", _("Give the amount as a decimal number, e.g. 1234.50."))
        amount = None
    flag = cells.get("is_prepayment", "").lower()
    if flag not in YES | NO:
        problem("is_prepayment", _("Give true or false."))
    for column in ("facility", "reference", "currency"):
        if not cells[column]:
            problem(column, _("This column is required."))
    return _Row(
        line=line,
        facility=cells["facility"],
        reference=cells["reference"],
        value_date=value_date,
        amount=amount,
        currency=cells["currency"].upper(),
        is_prepayment=flag in YES,
    )


def import_repayments(*, actor: User, content: str | bytes, today: date | None = None) -> list[ImportedRow]:
    """Post every row of the file or none (400 with the refusals by line); returns one result per row."""
    if not may_post(actor):
        raise errors.PermissionDenied(_("Only loan operations posts repayments."))
    rows, problems = parse(content)
    facilities = dict(
        visible_facilities(viewer=actor)
        .filter(reference__in={row.facility for row in rows})
        .values_list("reference", "pk")
    )
    today = today or timezone.localdate()
    results: list[ImportedRow] = []
    with transaction.atomic():
        ordered = sorted(rows, key=lambda row: (row.value_date or date.min, row.line))
        for row in ordered:
            if any(key == f"rows.{row.line}" or key.startswith(f"rows.{row.line}.") for key in problems):
                continue
            facility_id = facilities.get(row.facility)
            if facility_id is None:
                problems[f"rows.{row.line}.facility"] = [_("No facility with this reference.")]
                continue
            posted = _post(actor, row, facility_id, today, problems)
            if posted is not None:
                results.append(posted)
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise errors.ValidationFailed(
            _("%(n)d rows were refused; nothing was imported.")
            % {"n": len({k.split(".")[1] for k in problems})},
            field_errors=dict(sorted(problems.items(), key=lambda kv: int(kv[0].split(".")[1]))),
            code="import_refused",
        )
    return sorted(results, key=lambda result: result.line)


def _post(
    actor: User, row: _Row, facility_id: int, today: date, problems: dict[str, list[str]]
) -> ImportedRow | None:
    existing = Repayment.objects.filter(facility_id=facility_id, reference=row.reference).values_list(
        "pk", flat=True
    )
    known = set(existing)
    try:
        repayment = post_repayment(
            actor=actor,
            facility_id=facility_id,
            amount=row.amount,  # type: ignore[arg-type]  # parsed: a row with a bad amount never gets here
            value_date=row.value_date,  # type: ignore[arg-type]
            reference=row.reference,
            is_prepayment=row.is_prepayment,
            source=RepaymentSource.IMPORT,
            currency=row.currency,
            today=today,
        )
    except errors.DomainError as exc:
        if exc.field_errors:
            for column, messages in exc.field_errors.items():
                problems.setdefault(f"rows.{row.line}.{column}", []).extend(messages)
        else:
            problems.setdefault(f"rows.{row.line}", []).append(exc.detail)
        return None
    return ImportedRow(row.line, row.facility, row.reference, repayment, repayment.pk in known)
