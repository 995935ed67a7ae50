"""Declaring personal data on model fields, so export, erasure and masking find it by reflection."""

from dataclasses import dataclass
from typing import TypeVar

from django.apps import apps
from django.db import models

F = TypeVar("F", bound=models.Field)


@dataclass(frozen=True)
class PersonalData:
    """What a field holds about a natural person, why, and how long it is kept."""

    category: str  # identity, contact, financial, government_id, demographic, free_text
    purpose: str  # kyc, relationship, contract, marketing
    retention: str  # aml (AML retention hold), relationship, consent
    sensitive: bool = False  # PIPL Art. 28 sensitive personal information
    natural_persons_only: bool = False  # personal only when the party is an individual or sole trader


def personal(
    field: F,
    *,
    category: str,
    purpose: str,
    retention: str,
    sensitive: bool = False,
    natural_persons_only: bool = False,
) -> F:
    """Mark a model field as holding personal data."""
    field.personal_data = PersonalData(  # type: ignore[attr-defined]
        category, purpose, retention, sensitive, natural_persons_only
    )
    return field


def personal_data_fields(model: type[models.Model]) -> dict[str, PersonalData]:
    """The declared personal-data fields of one model."""
    found = {f.name: getattr(f, "personal_data", None) for f in model._meta.get_fields()}
    return {name: pd for name, pd in found.items() if isinstance(pd, PersonalData)}


def personal_data_catalogue() -> dict[str, dict[str, PersonalData]]:
    """Every model with personal data, keyed by app_label.ModelName."""
    catalogue = {}
    for model in apps.get_models():
        fields = personal_data_fields(model)
        if fields:
            catalogue[model._meta.label] = fields
    return catalogue
