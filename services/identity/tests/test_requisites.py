"""Rules 1, 2 and 4 of spec 10-identity: organization requisites checked for real."""

import contextlib

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from stdnum.ru import ogrn as stdnum_ogrn

from services.identity.requisites import (
    NATURAL_PERSON_REFUSED,
    LegalFormKind,
    RequisiteError,
    classification_for,
    director_name_genitive,
    normalize_email,
    normalize_phone,
    resolve_legal_form,
    section_for,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_okpo,
    validate_okved,
    validate_organization_requisites,
    validate_postal_code,
    validate_settlement_account,
)
from services.identity.requisites.genitive import _morph
from services.identity.requisites.types import (
    Bik,
    Email,
    Inn,
    Kpp,
    Ogrn,
    Okpo,
    Okved,
    Phone,
    PostalCode,
)

# ПАО Сбербанк, as in its own requisites.
SBER = {
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "okpo": "00032537",
    "bik": "044525225",
    "correspondent_account": "30101810400000000225",
}
SBER_CLIENT_ACCOUNT = "40702810938000012345"  # control key computed for BIK 044525225
# A sole proprietor: INN from python-stdnum's examples; OGRNIP and OKPO with computed checks.
SOLE_PROPRIETOR = {"inn": "500100732259", "ogrn": "304770100001231", "okpo": "0123456789"}


def rejects(call, message):
    with pytest.raises(RequisiteError, match=message):
        call()


# --- legal forms (rule 1) ---


@pytest.mark.parametrize(
    ("written", "code", "kind"),
    [
        ("ООО", "ООО", LegalFormKind.LEGAL_ENTITY),
        ("ооо", "ООО", LegalFormKind.LEGAL_ENTITY),
        ("Общество с ограниченной ответственностью", "ООО", LegalFormKind.LEGAL_ENTITY),
        ("ПАО", "ПАО", LegalFormKind.LEGAL_ENTITY),
        ("НАО", "НАО", LegalFormKind.LEGAL_ENTITY),
        ("ОАО", "ОАО", LegalFormKind.LEGAL_ENTITY),
        ("ЗАО", "ЗАО", LegalFormKind.LEGAL_ENTITY),
        ("акционерное общество", "АО", LegalFormKind.LEGAL_ENTITY),
        ("ФГУП", "ФГУП", LegalFormKind.LEGAL_ENTITY),
        ("АНО", "АНО", LegalFormKind.LEGAL_ENTITY),
        ("ТСЖ", "ТСЖ", LegalFormKind.LEGAL_ENTITY),
        ("ИП", "ИП", LegalFormKind.SOLE_PROPRIETOR),
        ("Индивидуальный предприниматель", "ИП", LegalFormKind.SOLE_PROPRIETOR),
    ],
)
def test_organization_forms_are_accepted(written, code, kind):
    form = resolve_legal_form(written)
    assert (form.code, form.kind) == (code, kind)


@pytest.mark.parametrize(
    "written", ["ФЛ", "физическое лицо", "Физ. лицо", "физлицо", "Самозанятый", "частное лицо"]
)
def test_natural_persons_are_refused(written):
    rejects(lambda: resolve_legal_form(written), NATURAL_PERSON_REFUSED)


def test_unknown_form_is_refused_listing_accepted_ones():
    with pytest.raises(RequisiteError) as refused:
        resolve_legal_form("Рога и копыта")
    assert "unknown legal form" in str(refused.value)
    assert "ООО" in str(refused.value) and "ИП" in str(refused.value)


# --- INN ---


def test_inn_of_legal_entity_and_sole_proprietor():
    assert validate_inn("7707083893", "ООО") == "7707083893"
    assert validate_inn(" 7707 083 893 ") == "7707083893"
    assert validate_inn("500100732259", "ИП") == "500100732259"


def test_inn_wrong_length_check_digit_and_form_pairing():
    rejects(lambda: validate_inn("770708389"), "10 digits .* or 12 digits")
    rejects(lambda: validate_inn("77070838AB"), "INN must contain only digits")
    rejects(lambda: validate_inn("7707083894"), "INN check digit does not match")
    rejects(lambda: validate_inn("500100732258", "ИП"), "INN check digit does not match")
    rejects(lambda: validate_inn("500100732259", "ООО"), "a legal entity's INN has 10 digits")
    rejects(lambda: validate_inn("7707083893", "ИП"), "a sole proprietor's INN has 12 digits")
    rejects(lambda: validate_inn("7707083893", "ФЛ"), NATURAL_PERSON_REFUSED)


# --- KPP ---


def test_kpp_format():
    assert validate_kpp("773601001") == "773601001"
    assert validate_kpp("7736ab001") == "7736AB001"
    for wrong in ("77360100", "7736010012", "ABCD01001", "7736-1001", "77360100Z"):
        rejects(lambda wrong=wrong: validate_kpp(wrong), "KPP has 9 characters")


# --- OGRN / OGRNIP ---


def test_ogrn_and_ogrnip():
    assert validate_ogrn("1027700132195", "ПАО") == "1027700132195"
    assert validate_ogrn("304770100001231", "ИП") == "304770100001231"
    # Remainder 10 leaves check digit 0.
    assert validate_ogrn("321770000012340") == "321770000012340"


def test_ogrnip_whose_remainder_has_two_digits_is_valid_although_stdnum_rejects_it():
    assert not stdnum_ogrn.is_valid("304770100001231")
    assert validate_ogrn("304770100001231") == "304770100001231"


def test_ogrn_wrong_values():
    rejects(lambda: validate_ogrn("1027700132196"), "OGRN check digit does not match")
    rejects(lambda: validate_ogrn("304770100001232"), "OGRN check digit does not match")
    rejects(lambda: validate_ogrn("102770013219"), "13 digits .* or 15 digits")
    rejects(lambda: validate_ogrn("2027700132195"), "starts with 1 or 5")
    rejects(lambda: validate_ogrn("404770100001231"), "OGRNIP starts with 3")
    rejects(lambda: validate_ogrn("1027700132195", "ИП"), "sole proprietor's OGRNIP has 15")
    rejects(lambda: validate_ogrn("304770100001231", "ООО"), "legal entity's OGRN has 13")


# --- OKPO ---


def test_okpo_check_digit_both_passes():
    assert validate_okpo("00032537", "ПАО") == "00032537"
    assert validate_okpo("10000062") == "10000062"  # first remainder 10, second pass gives 2
    assert validate_okpo("10000640") == "10000640"  # both remainders 10: check digit 0
    assert validate_okpo("0123456789", "ИП") == "0123456789"
    assert validate_okpo("1000000014") == "1000000014"


def test_okpo_wrong_values():
    rejects(lambda: validate_okpo("00032538"), "OKPO check digit does not match")
    rejects(lambda: validate_okpo("0003253"), "8 digits .* or 10 digits")
    rejects(lambda: validate_okpo("00032537", "ИП"), "a sole proprietor's OKPO has 10 digits")
    rejects(lambda: validate_okpo("0123456789", "ООО"), "a legal entity's OKPO has 8 digits")


# --- OKVED and classification ---


@pytest.mark.parametrize("code", ["62", "62.0", "62.01", "47.11.1", "01.13.12"])
def test_okved_formats(code):
    assert validate_okved(code) == code


@pytest.mark.parametrize(
    "code", ["6", "620", "62.", "62.011", "62.0.1", "62.01.123", "AB.CD", "62,01"]
)
def test_okved_wrong_formats(code):
    rejects(lambda: validate_okved(code), "OKVED has the form NN, NN.N, NN.NN, NN.NN.N or NN.NN.NN")


@pytest.mark.parametrize(
    ("code", "classification"),
    [
        ("62.01", "J — Деятельность в области информации и связи"),
        ("58", "J — Деятельность в области информации и связи"),
        ("01.11", "A — Сельское, лесное хозяйство, охота, рыболовство и рыбоводство"),
        ("64.19", "K — Деятельность финансовая и страховая"),
        (
            "47.11.1",
            "G — Торговля оптовая и розничная; ремонт автотранспортных средств и мотоциклов",
        ),
        ("49.10", "H — Транспортировка и хранение"),
        ("99.00", "U — Деятельность экстерриториальных организаций и органов"),
    ],
)
def test_classification_is_derived_from_okved(code, classification):
    assert classification_for(code) == classification


def test_every_class_from_01_to_99_is_in_one_section_or_refused():
    sections = {}
    for code_class in range(1, 100):
        with contextlib.suppress(RequisiteError):
            sections[code_class] = section_for(f"{code_class:02d}").letter
    assert sections[35] == "D" and sections[68] == "L" and sections[85] == "P"
    assert set(range(1, 100)) - set(sections) == {4, 34, 40, 44, 48, 54, 57, 67, 76, 83, 89}


def test_okved_class_outside_every_section_is_refused():
    rejects(lambda: classification_for("04.11"), "OKVED class 04 belongs to no OKVED2 section")
    rejects(lambda: classification_for("6201"), "OKVED has the form")


# --- bank: BIK and accounts ---


def test_bik():
    assert validate_bik("044525225") == "044525225"
    rejects(lambda: validate_bik("04452522"), "BIK has 9 digits")
    rejects(lambda: validate_bik("04452522X"), "BIK must contain only digits")


def test_settlement_account_control_key_against_bik():
    assert validate_settlement_account(SBER_CLIENT_ACCOUNT, "044525225") == SBER_CLIENT_ACCOUNT
    assert validate_settlement_account("4070 2810 9380 0001 2345", "044525225")
    rejects(
        lambda: validate_settlement_account(SBER_CLIENT_ACCOUNT, "044525593"),
        "settlement account does not match the BIK",
    )
    rejects(
        lambda: validate_settlement_account("40702810938000012346", "044525225"),
        "control key check failed",
    )
    rejects(
        lambda: validate_settlement_account("4070281093800001234", "044525225"),
        "settlement account has 20 digits",
    )


def test_correspondent_account_control_key_against_bik():
    assert validate_correspondent_account("30101810400000000225", "044525225")
    assert validate_correspondent_account("30101810145250000974", "044525974")
    # Only BIK digits 5-6 take part: a Moscow account does not fit a St Petersburg bank.
    rejects(
        lambda: validate_correspondent_account("30101810400000000225", "044030653"),
        "correspondent account does not match the BIK",
    )
    rejects(
        lambda: validate_correspondent_account("30101810400000000226", "044525225"),
        "control key check failed",
    )
    rejects(
        lambda: validate_correspondent_account("301018104000000002250", "044525225"),
        "correspondent account has 20 digits",
    )
    rejects(
        lambda: validate_correspondent_account("30101810400000000225", "04452522"),
        "BIK has 9 digits",
    )


# --- address and contact ---


def test_postal_code():
    assert validate_postal_code("117997") == "117997"
    rejects(lambda: validate_postal_code("11799"), "postal code has 6 digits")
    rejects(lambda: validate_postal_code("1179970"), "postal code has 6 digits")
    rejects(lambda: validate_postal_code("11799A"), "postal code must contain only digits")


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("8 (916) 123-45-67", "+79161234567"),
        ("+7 916 123 45 67", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("8 495 500-55-50", "+74955005550"),
        ("+49 30 901820", "+4930901820"),
    ],
)
def test_phone_is_normalized_to_e164(written, e164):
    assert normalize_phone(written) == e164


@pytest.mark.parametrize("written", ["12345", "+7 916 123", "телефон", "+7 000 000 00 00"])
def test_invalid_phones_are_refused(written):
    rejects(lambda: normalize_phone(written), "phone number")


def test_email_is_validated_and_its_domain_lower_cased():
    assert normalize_email(" Petrov@Example.RU ") == "Petrov@example.ru"
    for wrong in ("petrov@", "petrov.example.ru", "petrov@example..ru", "пётр@"):
        rejects(lambda wrong=wrong: normalize_email(wrong), "not a valid e-mail address")


# --- cross-field check of an organization ---


def organization(**changes):
    values = {
        "legal_form": "ПАО",
        "inn": SBER["inn"],
        "kpp": SBER["kpp"],
        "ogrn": SBER["ogrn"],
        "okpo": SBER["okpo"],
        "bik": SBER["bik"],
        "settlement_account": SBER_CLIENT_ACCOUNT,
        "correspondent_account": SBER["correspondent_account"],
        "country": "RU",
    }
    return validate_organization_requisites(**{**values, **changes})


def test_valid_legal_entity_and_sole_proprietor_have_no_errors():
    assert organization() == []
    assert organization(legal_form="ИП", kpp=None, **SOLE_PROPRIETOR) == []
    assert organization(okpo=None) == []  # OKPO is checked only when given


def test_every_wrong_field_is_reported_at_once():
    errors = organization(
        inn="7707083894",
        kpp="77360100",
        ogrn="102770013219",
        okpo="00032538",
        settlement_account="40702810938000012346",
        correspondent_account="30101810400000000226",
    )
    assert [field for field, _ in errors] == [
        "inn",
        "kpp",
        "ogrn",
        "okpo",
        "bank.settlement_account",
        "bank.correspondent_account",
    ]
    messages = dict(errors)
    assert messages["inn"] == "INN check digit does not match"
    assert "control key" in messages["bank.correspondent_account"]


def test_lengths_must_agree_with_the_legal_form():
    errors = dict(organization(legal_form="ИП", kpp=None))
    assert errors == {
        "inn": "a sole proprietor's INN has 12 digits",
        "ogrn": "a sole proprietor's OGRNIP has 15 digits",
        "okpo": "a sole proprietor's OKPO has 10 digits",
    }
    errors = dict(organization(**SOLE_PROPRIETOR))
    assert errors["inn"] == "a legal entity's INN has 10 digits"
    assert errors["ogrn"] == "a legal entity's OGRN has 13 digits"


def test_kpp_is_required_for_legal_entity_and_absent_for_sole_proprietor():
    assert organization(kpp=None) == [("kpp", "KPP of a legal entity is required")]
    errors = organization(legal_form="ИП", kpp="773601001", **SOLE_PROPRIETOR)
    assert errors == [("kpp", "a sole proprietor has no KPP")]


def test_natural_person_is_refused_as_the_legal_form():
    assert organization(legal_form="физическое лицо") == [("legal_form", NATURAL_PERSON_REFUSED)]
    assert organization(legal_form="") == [("legal_form", "legal form is required")]


def test_accounts_are_checked_against_the_bik():
    errors = dict(organization(bik="044030653"))
    assert set(errors) == {"bank.settlement_account", "bank.correspondent_account"}
    # With a broken BIK only the BIK is blamed; the accounts are checked for length only.
    errors = dict(organization(bik="0445252", settlement_account="123"))
    assert errors == {
        "bank.bik": "BIK has 9 digits",
        "bank.settlement_account": "settlement account has 20 digits",
    }


def test_required_russian_requisites():
    errors = organization(inn=None, ogrn=" ", bik=None, settlement_account=None)
    assert errors == [
        ("inn", "INN is required"),
        ("ogrn", "OGRN is required"),
        ("bank.bik", "BIK is required"),
        ("bank.settlement_account", "settlement account is required"),
    ]


def test_non_resident_gives_tax_id_and_skips_russian_checks():
    foreign = {
        "legal_form": "GmbH",
        "inn": None,
        "kpp": None,
        "ogrn": "HRB 12345",
        "okpo": None,
        "bik": None,
        "settlement_account": "DE89370400440532013000",
        "correspondent_account": None,
        "country": "de",
    }
    assert validate_organization_requisites(**foreign, tax_id="DE123456789") == []
    assert validate_organization_requisites(**foreign) == [
        ("tax_id", "a non-resident organization's tax id is required")
    ]
    assert validate_organization_requisites(
        **{**foreign, "legal_form": "natural person"}, tax_id="DE1"
    ) == [("legal_form", NATURAL_PERSON_REFUSED)]


def test_country_is_a_two_letter_code():
    assert organization(country="Russia") == [
        ("country", "country is a two-letter ISO 3166 code, e.g. RU")
    ]


# --- pydantic types: a 422 that names the field ---


class Requisites(BaseModel):
    inn: Inn
    kpp: Kpp
    ogrn: Ogrn
    okpo: Okpo
    okved: Okved
    bik: Bik
    postal_code: PostalCode
    phone: Phone
    email: Email


VALID_REQUISITES = {
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "okpo": "00032537",
    "okved": "64.19",
    "bik": "044525225",
    "postal_code": "117312",
    "phone": "8 (495) 500-55-50",
    "email": "Petrov@SberBank.RU",
}


def test_types_normalize_valid_values():
    requisites = Requisites.model_validate(VALID_REQUISITES)
    assert requisites.phone == "+74955005550"
    assert requisites.email == "Petrov@sberbank.ru"
    assert requisites.inn == "7707083893"


def test_types_name_every_wrong_field_with_its_rule():
    wrong = {
        "inn": "7707083894",
        "kpp": "7736",
        "ogrn": "1027700132196",
        "okpo": "0003253",
        "okved": "04.11",
        "bik": "0445",
        "postal_code": "11731",
        "phone": "12345",
        "email": "info@",
    }
    with pytest.raises(ValidationError) as invalid:
        Requisites.model_validate(wrong)
    messages = {error["loc"][0]: error["msg"] for error in invalid.value.errors()}
    assert set(messages) == set(wrong)
    assert messages["inn"] == "Value error, INN check digit does not match"
    assert messages["okved"] == "Value error, OKVED class 04 belongs to no OKVED2 section"
    assert messages["postal_code"] == "Value error, postal code has 6 digits"


async def test_a_wrong_requisite_is_a_422_naming_the_field():
    app = FastAPI()

    @app.post("/requisites")
    async def accept(requisites: Requisites) -> dict[str, str]:
        return {"phone": requisites.phone}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        accepted = await client.post("/requisites", json=VALID_REQUISITES)
        refused = await client.post("/requisites", json={**VALID_REQUISITES, "kpp": "77-36"})
    assert accepted.json() == {"phone": "+74955005550"}
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "kpp"]
    assert "KPP has 9 characters" in error["msg"]


# --- director's name in the genitive case ---


@pytest.mark.parametrize(
    ("nominative", "genitive"),
    [
        ("Иванов Иван Иванович", "Иванова Ивана Ивановича"),
        ("Петрова Анна Сергеевна", "Петровой Анны Сергеевны"),
        ("Греф Герман Оскарович", "Грефа Германа Оскаровича"),
        ("Осеевский Михаил Эдуардович", "Осеевского Михаила Эдуардовича"),
        ("Толстая Мария Ильинична", "Толстой Марии Ильиничны"),
        ("Крупская Надежда Константиновна", "Крупской Надежды Константиновны"),
        ("Кузьмин Никита Ильич", "Кузьмина Никиты Ильича"),
        ("Никитина Любовь Юрьевна", "Никитиной Любови Юрьевны"),
        # not in the dictionary: declined by their endings
        ("Белозёров Олег Валентинович", "Белозёрова Олега Валентиновича"),
        ("Пьянова Ольга Васильевна", "Пьяновой Ольги Васильевны"),
        # a man's surname in a consonant declines, a woman's does not
        ("Масюк Артём Олегович", "Масюка Артёма Олеговича"),
        ("Кох Анна Викторовна", "Кох Анны Викторовны"),
        # indeclinable surnames stay as they are
        ("Шевченко Тарас Григорьевич", "Шевченко Тараса Григорьевича"),
        ("Черных Илья Сергеевич", "Черных Ильи Сергеевича"),
        ("Римский-Корсаков Николай Андреевич", "Римского-Корсакова Николая Андреевича"),
        ("Алиев Рашид Гусейн оглы", "Алиева Рашида Гусейн оглы"),
        ("Алиева Лейла Гусейн кызы", "Алиевой Лейлы Гусейн кызы"),
        ("Смирнова Ирина", "Смирновой Ирины"),
    ],
)
def test_director_name_genitive(nominative, genitive):
    assert director_name_genitive(nominative) == genitive


def test_genitive_keeps_capitalization_and_spelling():
    assert director_name_genitive("ИВАНОВ ИВАН ИВАНОВИЧ") == "ИВАНОВА ИВАНА ИВАНОВИЧА"
    assert director_name_genitive("  Белозеров   Олег Валентинович ") == (
        "Белозерова Олега Валентиновича"
    )


def test_genitive_of_an_empty_name_is_refused():
    rejects(lambda: director_name_genitive("  "), "director's full name is empty")


def test_morphology_analyzer_is_created_once():
    assert _morph() is _morph()
