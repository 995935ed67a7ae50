"""Workspace forms for origination. They parse what people type into typed values; every rule (the
state machine, the authority matrix, four-eyes, what a checklist item may become) stays in the services,
so the pages and the API refuse the same input with the same words."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from lendcrm.core.errors import DomainError
from lendcrm.core.money import CURRENCIES
from lendcrm.origination.models import (
    ChecklistStatus,
    Outcome,
    PartyRole,
    RiskGrade,
    StatementKind,
    Status,
    Vote,
)
from lendcrm.origination.templatetags.origination import percent
from lendcrm.parties.forms import BLANK, VersionField
from lendcrm.pipeline.forms import NEW_FACILITY, FacilityForm, facility_products
from lendcrm.web.forms import DateInput, show_refusal

HUNDRED = Decimal(100)
# Extra parties an application may name besides the borrower, from the picker.
OTHER_ROLES = [(r.value, r.label) for r in PartyRole if r != PartyRole.BORROWER]


class ApplicationFilterForm(forms.Form):
    """The list's filters: none of them personal data, so they may sit in the URL."""

    status = forms.ChoiceField(label=_("Status"), choices=BLANK + Status.choices, required=False)
    mine = forms.BooleanField(label=_("Mine only"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


class ApplicationForm(forms.Form):
    """The application's own fields; the borrower comes from the party picker (a radio named borrower)."""

    borrower = forms.IntegerField(
        label=_("Borrower"),
        widget=forms.HiddenInput,
        error_messages={"required": _("Choose the borrower from the search results.")},
    )
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class EditApplicationForm(forms.Form):
    """A draft's purpose and the version the page was read at; the borrower stays (another borrower is
    another application)."""

    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    version = VersionField()


class ApplicationFacilityForm(FacilityForm):
    """A requested facility: the proposal's terms plus the loss given default, typed in percent (blank
    takes the borrower's default, 40 % for a senior unsecured corporate)."""

    lgd_pct = forms.DecimalField(
        label=_("LGD %"),
        max_digits=7,
        decimal_places=2,
        required=False,
        help_text=_("Loss given default; blank for the default (40 %, 45 % for financial institutions)."),
    )

    def terms(self) -> dict[str, Any]:
        """The terms as the application services take them: LGD as a fraction."""
        values = super().terms()
        lgd = self.cleaned_data.get("lgd_pct")
        if lgd is not None:
            values["lgd"] = lgd / HUNDRED
        return values


FacilityFormSet = forms.formset_factory(
    ApplicationFacilityForm, extra=0, min_num=1, max_num=10, absolute_max=10, can_delete=True
)


def facility_formset(data: Any = None, *, prefix: str, initial: list[dict[str, Any]] | None = None) -> Any:
    """The facilities of an application (the lending products read once for all of them), starting from
    `initial` (a draft's facilities) or one facility with the usual defaults."""
    kwargs = {"products": facility_products()}
    if data is not None:
        return FacilityFormSet(data, prefix=prefix, form_kwargs=kwargs)
    return FacilityFormSet(prefix=prefix, initial=initial or [NEW_FACILITY], form_kwargs=kwargs)


def other_parties(data: Any) -> tuple[list[tuple[int, str]], list[str]]:
    """The other parties ticked in the picker (`party` values) with the role chosen beside each
    (`role_<id>`), and what was wrong with them."""
    roles = dict(OTHER_ROLES)
    chosen: list[tuple[int, str]] = []
    problems: list[str] = []
    for raw in data.getlist("party"):
        if not str(raw).isdigit():
            problems.append(str(_("Choose parties from the search results.")))
            continue
        role = data.get(f"role_{raw}", "")
        if role not in roles:
            problems.append(str(_("Choose a role for each party you add.")))
            continue
        chosen.append((int(raw), role))
    return chosen, problems


class OfferedSelect(forms.Select):
    """A select whose choices outside `offered` stay visible but cannot be chosen: the item's current
    status, when this user may not set it, is still shown as it is."""

    offered: frozenset[str] = frozenset()

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        if option["value"] not in self.offered:
            option["attrs"]["disabled"] = True
        return option


class ChecklistItemForm(forms.Form):
    """One document's status; a waiver needs its reason (the service says so in the same words).

    It parses any known status and lets the service refuse what this user may not set; the page offers
    only `statuses` (`services.applications.checklist_statuses`) besides the current one."""

    item = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=ChecklistStatus.choices,
        widget=OfferedSelect,
        error_messages={"required": _("Choose the status to set.")},
    )
    waiver_reason = forms.CharField(
        label=_("Waiver reason"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Reason, when waived")}),
    )

    def __init__(self, *args: Any, statuses: list[str], current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = cast(OfferedSelect, self.fields["status"].widget)
        widget.offered = frozenset(statuses)
        widget.choices = [(v, label) for v, label in ChecklistStatus.choices if v in statuses or v == current]
        self.may_waive = ChecklistStatus.WAIVED in statuses


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)
    version = VersionField()
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


def grade_label(grade: RiskGrade) -> str:
    """A grade of the master scale in the reader's language, with its PD as that language writes numbers."""
    chinese = (get_language() or "").startswith("zh")
    label = grade.local_label if chinese and grade.local_label else grade.label
    return f"{grade.grade} · {label} · {_('PD')} {percent(grade.pd)}"


class GradeChoiceField(forms.ModelChoiceField):
    """A grade of the master scale shown with its PD, so the analyst sees what each grade means."""

    def label_from_instance(self, obj: Any) -> str:
        return grade_label(obj)


class MemoForm(forms.Form):
    risk_grade = GradeChoiceField(
        label=_("Risk grade"), queryset=RiskGrade.objects.order_by("grade"), required=False, empty_label="—"
    )
    grade_rationale = forms.CharField(
        label=_("Rating rationale"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    business = forms.CharField(
        label=_("Business and management"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    industry = forms.CharField(
        label=_("Industry and market"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    financial_analysis = forms.CharField(
        label=_("Financial analysis"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    security_analysis = forms.CharField(
        label=_("Security and structure"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    risks = forms.CharField(
        label=_("Key risks and mitigants"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    recommendation = forms.CharField(
        label=_("Recommendation"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput, required=False)


class StatementForm(forms.Form):
    """One period's statements: the period, then one amount per line of the standard chart."""

    period_end = forms.DateField(label=_("Period end"), widget=DateInput())
    period_months = forms.IntegerField(label=_("Months in period"), min_value=1, max_value=12, initial=12)
    kind = forms.ChoiceField(label=_("Kind"), choices=StatementKind.choices)
    currency = forms.ChoiceField(label=_("Currency"), choices=[(c, c) for c in CURRENCIES], initial="CNY")

    def __init__(self, *args: Any, lines: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_codes = [code for code, _label in lines]
        for code, label in lines:
            self.fields[f"line_{code}"] = forms.DecimalField(
                label=label, max_digits=20, decimal_places=2, required=False
            )

    def amounts(self) -> dict[str, Decimal]:
        """The lines that were filled in, by code."""
        return {
            code: self.cleaned_data[f"line_{code}"]
            for code in self.line_codes
            if self.cleaned_data.get(f"line_{code}") is not None
        }


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=BLANK + Outcome.choices)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    conditions = forms.CharField(
        label=_("Conditions precedent"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One condition per line; only with an approval with conditions."),
    )
    version = VersionField()

    def condition_texts(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["conditions"].splitlines() if line.strip()]


class VoteForm(forms.Form):
    vote = forms.ChoiceField(label=_("Vote"), choices=BLANK + Vote.choices)
    comment = forms.CharField(
        label=_("Comment or dissent"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConditionForm(forms.Form):
    MET, WAIVE = "met", "waive"
    condition = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[(MET, _("Mark met")), (WAIVE, _("Waive"))], widget=forms.HiddenInput)
    note = forms.CharField(label=_("Evidence or reason"), max_length=500)


class OfferForm(forms.Form):
    expires_on = forms.DateField(label=_("Offer valid until"), widget=DateInput())


class WithdrawOfferForm(forms.Form):
    """Withdrawing an offer ends the application too, so the page asks why (the history keeps it)."""

    note = forms.CharField(label=_("Why the offer is withdrawn"), max_length=500)
    version = VersionField()


def refuse(form: forms.Form, exc: DomainError, aliases: Mapping[str, str] | None = None) -> None:
    """`show_refusal`, and the messages about things the form has no field for (the statement's
    lines as a whole, say) on top of the form rather than lost."""
    show_refusal(form, exc, aliases)
    aliases = aliases or {}
    placed = [name for name in exc.field_errors if aliases.get(name, name) in form.fields]
    if placed:
        for name, messages in exc.field_errors.items():
            if name not in placed:
                for message in messages:
                    form.add_error(None, message)
    elif exc.field_errors:
        for messages in exc.field_errors.values():
            for message in messages:
                form.add_error(None, message)
