"""Workspace forms for the customer master. They only parse what people type into typed values; every
rule (identifier check digits, duplicates, lifecycle moves, ownership limits) stays in the services, so
the page and the API refuse the same input with the same words."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from lendcrm.core.models import Branch, User
from lendcrm.core.money import CURRENCIES, Money
from lendcrm.parties import identifiers
from lendcrm.parties.models import (
    ContactRoleKind,
    KycStatus,
    Lifecycle,
    Party,
    PartyKind,
    RelationshipKind,
    Segment,
)
from lendcrm.parties.services.common import MONEY_FIELDS, PROFILE_FIELDS
from lendcrm.web.forms import DateInput, StaffChoiceField

BLANK: list[tuple[str, Any]] = [("", "—")]
CURRENCY_CHOICES = BLANK + [(c, c) for c in CURRENCIES]
# Identifier schemes offered on the new-party form; any scheme can be added later on the 360 page.
NEW_PARTY_SCHEMES = (
    identifiers.LEI,
    identifiers.USCC,
    identifiers.NATIONAL_REGISTRATION,
    identifiers.TAX_NUMBER,
)


class VersionField(forms.IntegerField):
    """The version the person was looking at; a stale one is refused by the service."""

    widget = forms.HiddenInput

    def __init__(self) -> None:
        super().__init__(min_value=1)


class PartyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PartyKind.choices)
    legal_name = forms.CharField(label=_("Legal name"), max_length=300)
    local_name = forms.CharField(label=_("Local-language name"), max_length=300, required=False)
    short_name = forms.CharField(label=_("Short name"), max_length=100, required=False)
    branch = forms.ModelChoiceField(label=_("Booking branch"), queryset=Branch.objects.order_by("code"))
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, help_text=_("Two-letter ISO code, e.g. CN.")
    )
    industry_code = forms.CharField(
        label=_("Industry (ISIC/NACE)"), max_length=10, required=False, help_text=_("For example D3511.")
    )
    segment = forms.ChoiceField(label=_("Segment"), choices=BLANK + Segment.choices, required=False)
    lifecycle = forms.ChoiceField(label=_("Lifecycle"), choices=Lifecycle.choices, initial=Lifecycle.PROSPECT)
    kyc_status = forms.ChoiceField(label=_("KYC status"), choices=KycStatus.choices)
    kyc_next_review = forms.DateField(label=_("Next KYC review"), required=False, widget=DateInput())
    incorporation_date = forms.DateField(label=_("Incorporation date"), required=False, widget=DateInput())
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=DateInput(),
        help_text=_("Individuals and sole traders only."),
    )
    employees = forms.IntegerField(label=_("Employees"), required=False, min_value=0)
    annual_revenue_amount = forms.DecimalField(label=_("Annual revenue"), required=False, min_value=0)
    annual_revenue_currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, required=False)
    total_assets_amount = forms.DecimalField(label=_("Total assets"), required=False, min_value=0)
    total_assets_currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, required=False)

    # Service field names that differ from this form's.
    aliases = {f"{m}": f"{m}_amount" for m in MONEY_FIELDS}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in MONEY_FIELDS:
            amount, currency = data.get(f"{name}_amount"), data.get(f"{name}_currency")
            if amount is not None and not currency:
                self.add_error(f"{name}_currency", _("Choose the currency of the amount."))
        return data

    def profile(self) -> dict[str, Any]:
        """The cleaned values as the party services take them."""
        data = self.cleaned_data
        values = {name: data[name] for name in self.fields if name in PROFILE_FORM_FIELDS}
        for name in MONEY_FIELDS:
            amount: Decimal | None = data.get(f"{name}_amount")
            values[name] = Money(amount, data[f"{name}_currency"]) if amount is not None else None
        return values

    @staticmethod
    def initial_for(party: Party) -> dict[str, Any]:
        initial = {name: getattr(party, name) for name in PROFILE_FORM_FIELDS}
        initial["branch"] = party.branch_id
        for name in MONEY_FIELDS:
            initial[f"{name}_amount"] = getattr(party, name)
            initial[f"{name}_currency"] = getattr(party, f"{name}_currency")
        initial["version"] = party.version
        return initial


# The profile fields a form edits one to one; money is an amount and a currency field each.
PROFILE_FORM_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in MONEY_FIELDS)


class NewPartyForm(PartyForm):
    lei = forms.CharField(label=identifiers.SCHEMES[identifiers.LEI], max_length=64, required=False)
    uscc = forms.CharField(label=identifiers.SCHEMES[identifiers.USCC], max_length=64, required=False)
    national_registration = forms.CharField(
        label=identifiers.SCHEMES[identifiers.NATIONAL_REGISTRATION], max_length=64, required=False
    )
    tax_number = forms.CharField(
        label=identifiers.SCHEMES[identifiers.TAX_NUMBER], max_length=64, required=False
    )

    def identifier_pairs(self) -> list[tuple[str, str]]:
        return [(s, self.cleaned_data[s]) for s in NEW_PARTY_SCHEMES if self.cleaned_data.get(s)]

    def identifier_aliases(self) -> dict[str, str]:
        """`identifiers.N.value` from the service names the Nth identifier this form sent."""
        sent = [s for s in NEW_PARTY_SCHEMES if self.cleaned_data.get(s)]
        return {f"identifiers.{i}.value": scheme for i, scheme in enumerate(sent)}


class EditPartyForm(PartyForm):
    version = VersionField()


class IdentifierForm(forms.Form):
    scheme = forms.ChoiceField(label=_("Scheme"), choices=list(identifiers.SCHEMES.items()))
    value = forms.CharField(label=_("Value"), max_length=64)


class ContactForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    local_name = forms.CharField(label=_("Local-language name"), max_length=200, required=False)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DateInput())
    nationality = forms.CharField(label=_("Nationality"), max_length=2, required=False)

    def person(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ContactForm.base_fields}


class NewContactForm(ContactForm):
    role = forms.ChoiceField(label=_("Role at this party"), choices=ContactRoleKind.choices)
    ownership_pct = forms.DecimalField(
        label=_("Ownership %"), required=False, help_text=_("Beneficial owners only.")
    )
    email = forms.CharField(label=_("Email"), max_length=300, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)

    aliases = {"points.0.value": "email", "points.1.value": "phone"}


class EditContactForm(ContactForm):
    version = VersionField()


class RelationshipForm(forms.Form):
    OUTGOING, INCOMING = "outgoing", "incoming"
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=[
            (OUTGOING, _("This party → the other party")),
            (INCOMING, _("The other party → this party")),
        ],
    )
    kind = forms.ChoiceField(label=_("Link"), choices=RelationshipKind.choices)
    other_party = forms.IntegerField(label=_("Other party"), min_value=1, widget=forms.HiddenInput)
    ownership_pct = forms.DecimalField(
        label=_("Ownership %"), required=False, help_text=_("Parent and shareholder links only.")
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    aliases = {"to_party": "other_party", "from_party": "other_party"}


class PartyFilterForm(forms.Form):
    """The list's filters; all optional, none of them personal data, so they may sit in the URL."""

    kind = forms.ChoiceField(label=_("Kind"), choices=BLANK + PartyKind.choices, required=False)
    branch = forms.ModelChoiceField(
        label=_("Branch"),
        queryset=Branch.objects.order_by("code"),
        required=False,
        to_field_name="code",
        empty_label="—",
    )
    segment = forms.ChoiceField(label=_("Segment"), choices=BLANK + Segment.choices, required=False)
    lifecycle = forms.ChoiceField(label=_("Lifecycle"), choices=BLANK + Lifecycle.choices, required=False)
    kyc_status = forms.ChoiceField(label=_("KYC status"), choices=BLANK + KycStatus.choices, required=False)
    rm = StaffChoiceField(label=_("RM"), queryset=User.objects.none(), required=False, empty_label="—")
    country = forms.CharField(label=_("Country"), max_length=2, required=False)
    industry_code = forms.CharField(label=_("Industry"), max_length=10, required=False)
    covered = forms.ChoiceField(
        label=_("Coverage"), choices=[("", _("All I can see")), ("me", _("Covered by me"))], required=False
    )
    kyc_due = forms.IntegerField(
        label=_("KYC due within (days)"), required=False, min_value=0, max_value=3650
    )
    ordering = forms.ChoiceField(required=False, widget=forms.HiddenInput, choices=[])
