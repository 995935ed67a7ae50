"""Workspace forms of the loan book: the list's filters, booking an application's facilities and paying
out a drawdown. They parse what people type; every rule stays in the services."""

from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.origination.models import ApplicationFacility
from lendcrm.parties.forms import BLANK
from lendcrm.pipeline.models import RateType
from lendcrm.servicing.models import (
    BusinessDayRule,
    Category,
    DayCount,
    FacilityKind,
    FacilityStatus,
    GraceKind,
    ScheduleProfile,
)
from lendcrm.servicing.services.booking import KIND_OF_PRODUCT
from lendcrm.web.forms import DateInput, StaffChoiceField

FREQUENCY_CHOICES = [
    (1, _("Monthly")),
    (3, _("Quarterly")),
    (6, _("Half-yearly")),
    (12, _("Yearly")),
]


class FacilityFilterForm(forms.Form):
    """The loan book's filters: none of them personal data, so they may sit in the URL."""

    status = forms.ChoiceField(label=_("Status"), choices=BLANK + FacilityStatus.choices, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=BLANK + FacilityKind.choices, required=False)
    category = forms.ChoiceField(label=_("Classification"), choices=BLANK + Category.choices, required=False)
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.order_by("code"), required=False, empty_label="—"
    )
    application = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    borrower = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class BookStartForm(forms.Form):
    start_date = forms.DateField(
        label=_("Start date"),
        widget=DateInput,
        help_text=_("Interest and the payment dates run from this day."),
    )


class CfadsField(forms.Field):
    """CFADS per payment date typed as numbers separated by commas, spaces or new lines."""

    def to_python(self, value: Any) -> list[Decimal]:
        text = str(value or "").strip()
        if not text:
            return []
        try:
            return [Decimal(part) for part in text.replace(",", " ").split()]
        except InvalidOperation as exc:
            raise forms.ValidationError(_("Give numbers only, one per payment date.")) from exc


class BookFacilityForm(forms.Form):
    """What booking adds to one approved facility (the approved terms are shown beside it, not re-typed)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=FacilityKind.choices)
    profile = forms.ChoiceField(label=_("Repayment profile"), choices=ScheduleProfile.choices)
    frequency_months = forms.TypedChoiceField(
        label=_("Payments"), choices=FREQUENCY_CHOICES, coerce=int, initial=1
    )
    day_count = forms.ChoiceField(label=_("Day count"), choices=DayCount.choices)
    business_day_rule = forms.ChoiceField(
        label=_("Business-day rule"),
        choices=BusinessDayRule.choices,
        initial=BusinessDayRule.MODIFIED_FOLLOWING,
    )
    base_rate_pct = forms.DecimalField(
        label=_("Base rate today %"),
        max_digits=9,
        decimal_places=5,
        required=False,
        help_text=_("Floating rate: the base rate's value on the start date."),
    )
    availability_end = forms.DateField(
        label=_("Available until"),
        widget=DateInput,
        required=False,
        help_text=_("Blank: the bank's default availability period."),
    )
    construction_end = forms.DateField(
        label=_("Construction ends"), widget=DateInput, required=False, help_text=_("Project finance only.")
    )
    grace_kind = forms.ChoiceField(label=_("Grace period"), choices=BLANK + GraceKind.choices, required=False)
    target_dscr = forms.DecimalField(
        label=_("Target DSCR"), max_digits=6, decimal_places=3, required=False, help_text=_("Sculpted only.")
    )
    cfads = CfadsField(
        label=_("CFADS per payment date"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Sculpted only: one figure per payment date, separated by commas."),
    )
    monitor = StaffChoiceField(
        label=_("Monitoring officer"),
        queryset=User.objects.none(),
        required=False,
        empty_label="—",
    )

    def __init__(self, *args: Any, approved: ApplicationFacility, monitors: Any, **kwargs: Any) -> None:
        self.approved = approved
        kwargs.setdefault(
            "initial",
            {
                "kind": KIND_OF_PRODUCT.get(approved.product.code, FacilityKind.TERM),
                "profile": approved.repayment_profile
                if approved.repayment_profile in ScheduleProfile.values
                else ScheduleProfile.ANNUITY,
                "frequency_months": 1,
                "day_count": DayCount.ACT_360,
                "business_day_rule": BusinessDayRule.MODIFIED_FOLLOWING,
            },
        )
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["monitor"]).queryset = monitors
        if approved.rate_type != RateType.FLOATING:
            del self.fields["base_rate_pct"]
        else:
            self.fields["base_rate_pct"].required = True

    def entry(self) -> dict[str, Any]:
        """The booking entry as `book_application` takes it: only what was filled in."""
        data = self.cleaned_data
        entry: dict[str, Any] = {"application_facility": self.approved.pk}
        for name in ("kind", "profile", "frequency_months", "day_count", "business_day_rule", "grace_kind"):
            if data.get(name) not in (None, ""):
                entry[name] = data[name]
        for name in ("base_rate_pct", "availability_end", "construction_end", "target_dscr"):
            if data.get(name) is not None:
                entry[name] = data[name]
        if data.get("cfads"):
            entry["cfads"] = data["cfads"]
        if data.get("monitor") is not None:
            entry["monitor"] = data["monitor"].pk
        return entry


def monitors() -> Any:
    """The active portfolio monitors (who may be named as a facility's monitoring officer)."""
    return (
        User.objects.filter(is_active=True, role_grants__role=Role.PORTFOLIO_MONITOR)
        .distinct()
        .order_by("username")
    )


class DrawdownForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=20, decimal_places=2, min_value=Decimal("0.01"))
    value_date = forms.DateField(label=_("Value date"), widget=DateInput)
    reference = forms.CharField(
        label=_("Payment reference"),
        max_length=40,
        help_text=_("The same reference again is treated as a retry of the same payment."),
    )
