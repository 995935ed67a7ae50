"""Requested facilities as input: the terms are checked by the pipeline's rules (`pipeline.terms`, so an
application refuses exactly what a proposal refuses), plus the loss given default each facility carries."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.pipeline import terms as pipeline_terms

# The FacilityTerms columns a conversion copies besides the product.
TERM_FIELDS = tuple(name for name in pipeline_terms.TERM_FIELDS if name != "product")
LGD_PLACES = 4
Problems = dict[str, list[str]]


def _lgd_problem(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return _("Must be a decimal number.")
    lgd = Decimal(value)
    if not lgd.is_finite() or not 0 <= lgd <= 1:
        return _("Must be from %(low)s to %(high)s.") % {"low": 0, "high": 1}
    exponent = lgd.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -LGD_PLACES:
        return _("At most %(places)d decimal places.") % {"places": LGD_PLACES}
    return None


def facilities_values(
    raw: object, *, default_lgd: Decimal, prefix: str = "facilities"
) -> tuple[list[dict[str, Any]], Problems]:
    """Model values of each facility (product resolved, `position` and `lgd` set; `default_lgd` when none
    is given) and the problems keyed `facilities.<i>.<field>`. An empty list is fine for a draft."""
    if isinstance(raw, Sequence) and not isinstance(raw, str | bytes) and not raw:
        return [], {}
    problems: Problems = {}
    lgds: list[Decimal] = []
    items: Any = raw
    if isinstance(raw, Sequence) and not isinstance(raw, str | bytes):
        items = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping):
                items.append(item)
                continue
            lgd = item.get("lgd", default_lgd)
            problem = _lgd_problem(lgd)
            if problem:
                problems[f"{prefix}.{index}.lgd"] = [problem]
            lgds.append(Decimal(lgd) if problem is None else default_lgd)
            items.append({k: v for k, v in item.items() if k != "lgd"})
    try:
        cleaned = pipeline_terms.clean_facilities(items, prefix)
    except errors.ValidationFailed as exc:
        return [], problems | exc.field_errors
    if problems:
        return [], problems
    for values, lgd in zip(cleaned, lgds, strict=True):
        values["lgd"] = lgd
    return cleaned, problems
