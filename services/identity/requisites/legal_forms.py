"""Organization legal forms accepted at registration (rule 1: only organizations are customers)."""

import re
from dataclasses import dataclass
from enum import StrEnum

from services.identity.requisites.errors import RequisiteError


class LegalFormKind(StrEnum):
    LEGAL_ENTITY = "legal_entity"
    SOLE_PROPRIETOR = "sole_proprietor"


@dataclass(frozen=True, slots=True)
class LegalForm:
    code: str
    full_name: str
    kind: LegalFormKind


_ENTITY = LegalFormKind.LEGAL_ENTITY

LEGAL_FORMS: tuple[LegalForm, ...] = (
    LegalForm("ООО", "Общество с ограниченной ответственностью", _ENTITY),
    LegalForm("АО", "Акционерное общество", _ENTITY),
    LegalForm("ПАО", "Публичное акционерное общество", _ENTITY),
    LegalForm("НАО", "Непубличное акционерное общество", _ENTITY),
    LegalForm("ОАО", "Открытое акционерное общество", _ENTITY),
    LegalForm("ЗАО", "Закрытое акционерное общество", _ENTITY),
    LegalForm("ИП", "Индивидуальный предприниматель", LegalFormKind.SOLE_PROPRIETOR),
    LegalForm("НКО", "Некоммерческая организация", _ENTITY),
    LegalForm("АНО", "Автономная некоммерческая организация", _ENTITY),
    LegalForm("НП", "Некоммерческое партнерство", _ENTITY),
    LegalForm("ФГУП", "Федеральное государственное унитарное предприятие", _ENTITY),
    LegalForm("ГУП", "Государственное унитарное предприятие", _ENTITY),
    LegalForm("МУП", "Муниципальное унитарное предприятие", _ENTITY),
    LegalForm("ФГБУ", "Федеральное государственное бюджетное учреждение", _ENTITY),
    LegalForm("ГБУ", "Государственное бюджетное учреждение", _ENTITY),
    LegalForm("ГАУ", "Государственное автономное учреждение", _ENTITY),
    LegalForm("ГКУ", "Государственное казенное учреждение", _ENTITY),
    LegalForm("МБУ", "Муниципальное бюджетное учреждение", _ENTITY),
    LegalForm("МАУ", "Муниципальное автономное учреждение", _ENTITY),
    LegalForm("МКУ", "Муниципальное казенное учреждение", _ENTITY),
    LegalForm("ТСЖ", "Товарищество собственников жилья", _ENTITY),
    LegalForm("ПК", "Производственный кооператив", _ENTITY),
    LegalForm("СПК", "Сельскохозяйственный производственный кооператив", _ENTITY),
    LegalForm("ПТ", "Полное товарищество", _ENTITY),
    LegalForm("ТНВ", "Товарищество на вере", _ENTITY),
)

# Spellings people use for themselves when they are not an organization.
NATURAL_PERSON_FORMS: frozenset[str] = frozenset(
    {
        "фл",
        "физлицо",
        "физ лицо",
        "физическое лицо",
        "частное лицо",
        "гражданин",
        "гражданка",
        "самозанятый",
        "самозанятая",
        "самозанятое лицо",
        "нпд",
        "плательщик нпд",
        "natural person",
        "individual",
        "private person",
    }
)

NATURAL_PERSON_REFUSED = "natural persons cannot register; only organizations and sole proprietors"


def _key(value: str) -> str:
    """'Физ. лицо', 'физ.лицо ' and 'ФИЗ ЛИЦО' all become 'физ лицо'."""
    text = value.lower().replace("ё", "е")
    text = re.sub(r"[.\"'«»]", " ", text)
    return " ".join(text.split())


_BY_KEY: dict[str, LegalForm] = {
    key: form for form in LEGAL_FORMS for key in (_key(form.code), _key(form.full_name))
}


def is_natural_person(value: str) -> bool:
    return _key(value) in NATURAL_PERSON_FORMS


def resolve_legal_form(value: str) -> LegalForm:
    """The accepted legal form written as `value` (short code or full name, any case)."""
    if is_natural_person(value):
        raise RequisiteError(NATURAL_PERSON_REFUSED)
    form = _BY_KEY.get(_key(value))
    if form is None:
        accepted = ", ".join(form.code for form in LEGAL_FORMS)
        raise RequisiteError(f"unknown legal form {value.strip()!r}; accepted forms: {accepted}")
    return form
