"""Personal data is declared on the fields themselves and found by reflection."""

from lendcrm.core.personal import personal_data_catalogue


def test_catalogue_finds_declared_fields() -> None:
    catalogue = personal_data_catalogue()
    assert {"full_name", "birth_date", "nationality"} <= set(catalogue["parties.Contact"])
    assert catalogue["parties.ContactPoint"]["value"].category == "contact"
    assert catalogue["parties.Party"]["legal_name"].natural_persons_only
    assert not catalogue["parties.Party"]["birth_date"].natural_persons_only
    assert {"subject", "notes"} <= set(catalogue["interactions.Interaction"])
    assert "email" in catalogue["core.User"]


def test_company_facts_are_not_declared_personal() -> None:
    party_fields = personal_data_catalogue()["parties.Party"]
    for name in ("annual_revenue", "industry_code", "country", "incorporation_date", "kind"):
        assert name not in party_fields
