"""Workspace forms for the pipeline. They parse what people type into typed values and hand the services
the same mappings the API does; every rule (duplicates, stage moves, rate completeness, grace within
tenor) stays in the services, so the page and the API refuse the same input with the same words."""

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import User
from lendcrm.parties.forms import BLANK, VersionField
from lendcrm.parties.models import PartyKind
from lendcrm.pipeline.models import (
    BaseRate,
    DisqualificationReason,
    LeadSource,
    LeadStatus,
    LostReason,
    Product,
    ProductFamily,
    RateType,
    RepaymentProfile,
    Stage,
)
from lendcrm.pipeline.services.opportunities import MAX_PRODUCTS
from lendcrm.pipeline.terms import MAX_FACILITIES, TERM_FIELDS
from lendcrm.web.forms import DateInput, StaffChoiceField


def currency_choices() -> list[tuple[str, str]]:
    """The currencies the bank books (the services refuse any other)."""
    return BLANK + [(c, c) for c in settings.LENDCRM_FX_TO_BASE]


def product_label(product: Product) -> str:
    """A catalogue line in the page's language (the local name in Chinese, when there is one): one
    name fits the select, two were cut off."""
    if (get_language() or "").startswith("zh") and product.local_name:
        return str(product.local_name)
    return str(product.name)


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return product_label(obj)


class ProductsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return product_label(obj)


def _products(lending_only: bool = False) -> QuerySet[Product]:
    rows = Product.objects.filter(is_active=True)
    return rows.filter(family=ProductFamily.LENDING) if lending_only else rows


def _owners(form: forms.Form, owners: Iterable[User] | QuerySet[User]) -> None:
    field = cast(forms.ModelChoiceField, form.fields["owner"])
    field.queryset = (
        owners if isinstance(owners, QuerySet) else User.objects.filter(pk__in=[u.pk for u in owners])
    )


# --- leads ------------------------------------------------------------------------------------------
class LeadForm(forms.Form):
    source = forms.ChoiceField(label=_("Source"), choices=LeadSource.choices)
    source_detail = forms.CharField(
        label=_("Source detail"),
        max_length=200,
        required=False,
        help_text=_("Who referred it, which campaign or partner."),
    )
    party_kind = forms.ChoiceField(label=_("Kind"), choices=PartyKind.choices, initial=PartyKind.SME)
    name = forms.CharField(label=_("Prospect name"), max_length=300, required=False)
    local_name = forms.CharField(label=_("Local-language name"), max_length=300, required=False)
    country = forms.CharField(label=_("Country"), max_length=2, required=False)
    industry_code = forms.CharField(label=_("Industry (ISIC/NACE)"), max_length=10, required=False)
    lei = forms.CharField(label=_("LEI"), max_length=64, required=False)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=64, required=False)
    contact_name = forms.CharField(label=_("Contact name"), max_length=200, required=False)
    contact_email = forms.CharField(label=_("Contact email"), max_length=300, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    product = ProductChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False, empty_label="—"
    )
    requested_amount = forms.DecimalField(label=_("Requested amount"), required=False, decimal_places=2)
    currency = forms.ChoiceField(label=_("Currency"), choices=[], required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    owner = StaffChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—")

    def __init__(self, *args: Any, owners: Iterable[User] | QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["product"]).queryset = _products()
        cast(forms.ChoiceField, self.fields["currency"]).choices = currency_choices()
        _owners(self, owners)

    def data_for_service(self) -> dict[str, Any]:
        """The cleaned values as `create_lead`/`update_lead` take them (an unset owner means "me")."""
        data = dict(self.cleaned_data)
        data.pop("version", None)
        if data.get("owner") is None:
            data.pop("owner", None)
        return data


class EditLeadForm(LeadForm):
    version = VersionField()


class QualifyForm(forms.Form):
    """The opportunity a lead becomes; what is left blank comes from the lead."""

    title = forms.CharField(label=_("Opportunity title"), max_length=200, required=False)
    products = ProductsField(
        label=_("Products"),
        queryset=Product.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    amount = forms.DecimalField(label=_("Amount"), required=False, decimal_places=2)
    currency = forms.ChoiceField(label=_("Currency"), choices=[], required=False)
    expected_close = forms.DateField(label=_("Expected close"), required=False, widget=DateInput())
    version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["products"]).queryset = _products()
        cast(forms.ChoiceField, self.fields["currency"]).choices = currency_choices()

    def opportunity(self) -> dict[str, Any]:
        """Only what was given: the service fills the rest from the lead."""
        data = self.cleaned_data
        given: dict[str, Any] = {}
        if data["title"]:
            given["title"] = data["title"]
        if data["products"]:
            given["products"] = list(data["products"])
        if data["amount"] is not None or data["currency"]:
            given["amount"], given["currency"] = data["amount"], data["currency"]
        if data["expected_close"]:
            given["expected_close"] = data["expected_close"]
        return given


class DisqualifyForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=BLANK + DisqualificationReason.choices, required=False
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    version = VersionField()


class LeadFilterForm(forms.Form):
    """The lead list's filters; none is personal data, so they may sit in the URL."""

    status = forms.ChoiceField(label=_("Status"), choices=BLANK + LeadStatus.choices, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=BLANK + LeadSource.choices, required=False)
    owner = StaffChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—")

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _owners(self, owners)


# --- opportunities ----------------------------------------------------------------------------------
class OpportunityForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    products = ProductsField(
        label=_("Products"),
        queryset=Product.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    amount = forms.DecimalField(label=_("Amount"), required=False, decimal_places=2)
    currency = forms.ChoiceField(label=_("Currency"), choices=[], required=False)
    expected_close = forms.DateField(label=_("Expected close"), required=False, widget=DateInput())
    probability = forms.IntegerField(
        label=_("Probability %"), required=False, help_text=_("Blank: the stage's usual probability.")
    )
    owner = StaffChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—")

    aliases = {f"products.{i}": "products" for i in range(MAX_PRODUCTS)}

    def __init__(self, *args: Any, owners: Iterable[User] | QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["products"]).queryset = _products()
        cast(forms.ChoiceField, self.fields["currency"]).choices = currency_choices()
        _owners(self, owners)

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data.pop("party", None)
        data["products"] = list(data["products"])
        for optional in ("owner", "probability"):
            if data.get(optional) is None:
                data.pop(optional, None)
        return data


class NewOpportunityForm(OpportunityForm):
    party = forms.IntegerField(label=_("Party"), min_value=1, widget=forms.HiddenInput)

    field_order = ["party"]


class EditOpportunityForm(OpportunityForm):
    version = VersionField()


class MoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("Move to"), choices=Stage.choices)
    lost_reason = forms.ChoiceField(
        label=_("Why was it lost?"),
        choices=BLANK + LostReason.choices,
        required=False,
        help_text=_("Only when moving to Lost."),
    )
    lost_note = forms.CharField(label=_("Note"), max_length=500, required=False)
    version = VersionField()


class OpportunityFilterForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=BLANK + Stage.choices, required=False)
    owner = StaffChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—")
    product = ProductChoiceField(
        label=_("Product"),
        queryset=Product.objects.none(),
        required=False,
        to_field_name="code",
        empty_label="—",
    )
    ordering = forms.ChoiceField(required=False, widget=forms.HiddenInput, choices=[])

    def __init__(self, *args: Any, owners: QuerySet[User], orderings: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _owners(self, owners)
        cast(forms.ModelChoiceField, self.fields["product"]).queryset = _products()
        cast(forms.ChoiceField, self.fields["ordering"]).choices = [(o, o) for o in orderings]


class FunnelFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        choices=[
            ("", _("All time")),
            ("30", _("Last 30 days")),
            ("90", _("Last 90 days")),
            ("365", _("Last 12 months")),
        ],
        required=False,
    )
    owner = StaffChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False, empty_label="—")

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _owners(self, owners)


# --- proposals --------------------------------------------------------------------------------------
class ProposalForm(forms.Form):
    summary = forms.CharField(label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    conditions = forms.CharField(
        label=_("Conditions precedent"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DateInput())
    guarantors = forms.TypedMultipleChoiceField(
        label=_("Guarantors"), required=False, coerce=int, widget=forms.MultipleHiddenInput
    )

    def __init__(self, *args: Any, guarantors: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any id may be posted; the service resolves each within the actor's scope.
        chosen = cast(QueryDict, self.data).getlist("guarantors") if self.is_bound else []
        known = [(str(p.pk), p.legal_name) for p in guarantors]
        cast(forms.ChoiceField, self.fields["guarantors"]).choices = known + [
            (v, v) for v in chosen if v.isdigit() and v not in dict(known)
        ]


class EditProposalForm(ProposalForm):
    version = VersionField()


class FacilityForm(forms.Form):
    """One facility's terms; a blank extra form is skipped."""

    product = forms.ChoiceField(label=_("Product"), choices=[], required=False)
    amount = forms.DecimalField(label=_("Amount"), required=False, decimal_places=2)
    currency = forms.ChoiceField(label=_("Currency"), choices=[], required=False)
    tenor_months = forms.IntegerField(label=_("Tenor (months)"), required=False)
    repayment_profile = forms.ChoiceField(
        label=_("Repayment profile"), choices=BLANK + RepaymentProfile.choices, required=False
    )
    balloon_amount = forms.DecimalField(
        label=_("Balloon"), required=False, decimal_places=2, help_text=_("Balloon profile only.")
    )
    grace_months = forms.IntegerField(label=_("Grace period (months)"), required=False)
    rate_type = forms.ChoiceField(label=_("Rate type"), choices=BLANK + RateType.choices, required=False)
    base_rate = forms.ChoiceField(
        label=_("Base rate"),
        choices=BLANK + BaseRate.choices,
        required=False,
        help_text=_("Floating rate only."),
    )
    margin_pct = forms.DecimalField(label=_("Margin %"), required=False, decimal_places=5)
    fixed_rate_pct = forms.DecimalField(
        label=_("Fixed rate %"), required=False, decimal_places=5, help_text=_("Fixed rate only.")
    )
    upfront_fee_pct = forms.DecimalField(label=_("Upfront fee %"), required=False, decimal_places=5)
    commitment_fee_pct = forms.DecimalField(label=_("Commitment fee %"), required=False, decimal_places=5)
    purpose = forms.CharField(label=_("Purpose"), max_length=300, required=False)
    security = forms.CharField(
        label=_("Security and collateral"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    covenants = forms.CharField(
        label=_("Key covenants"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, products: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["product"]).choices = BLANK + products
        cast(forms.ChoiceField, self.fields["currency"]).choices = currency_choices()

    def terms(self) -> dict[str, Any]:
        """The terms as the services take them: blank fields left out."""
        return {
            name: value
            for name in TERM_FIELDS
            if (value := self.cleaned_data.get(name)) is not None and value != ""
        }


def facility_products() -> list[tuple[str, str]]:
    """The lending products a facility may be, by code: read once for all the facility forms of a page."""
    return [(p.code, product_label(p)) for p in _products(lending_only=True)]


FacilityFormSet = forms.formset_factory(
    FacilityForm, extra=0, min_num=1, max_num=MAX_FACILITIES, absolute_max=MAX_FACILITIES, can_delete=True
)
NEW_FACILITY = {
    "currency": "CNY",
    "repayment_profile": RepaymentProfile.ANNUITY,
    "grace_months": 0,
    "rate_type": RateType.FLOATING,
    "base_rate": BaseRate.LPR_1Y,
}
