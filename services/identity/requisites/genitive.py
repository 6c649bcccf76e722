"""The director's full name in the genitive case, suggested for contracts (rule 4).

"Иванов Иван Иванович" → "Иванова Ивана Ивановича" ("в лице Генерального директора …").
"""

from typing import Any, Literal

import pymorphy3

from services.identity.requisites.errors import RequisiteError
from shared.memory import ReleasedWhenIdle

Gender = Literal["masc", "femn"]
Role = Literal["Surn", "Name", "Patr"]

_ROLES: tuple[Role, ...] = ("Surn", "Name", "Patr")
# Turkic patronymics: "Алиев Рашид Гусейн оглы" — the father's name and the particle stay as is.
_PATRONYMIC_PARTICLES: dict[str, Gender] = {
    "оглы": "masc",
    "улы": "masc",
    "уулу": "masc",
    "кызы": "femn",
    "гызы": "femn",
}
_HUSHING_AND_VELAR = "гкхжшчщ"
_VOWELS = "аяоеиуыэюё"
_UNCHANGING_ENDINGS = "оеиуыэюё"  # Шевченко, Дюбуа, Гюго


# pymorphy3's dictionaries take ~25 MB and 0.3 s to load: loaded on first use, dropped after
# five quiet minutes, so an idle identity process does not carry them (docs/platform.md).
_analyzer = ReleasedWhenIdle(lambda: pymorphy3.MorphAnalyzer(lang="ru"), idle_seconds=300)


def _morph() -> Any:
    return _analyzer.get()


def director_name_genitive(full_name: str) -> str:
    """«Фамилия Имя Отчество» in the genitive case, gender taken from the patronymic or name."""
    words = full_name.split()
    if not words:
        raise RequisiteError("director's full name is empty")
    gender = _gender(words)
    declined: list[str] = []
    for position, word in enumerate(words):
        followed_by_particle = (
            position + 1 < len(words) and words[position + 1].lower() in _PATRONYMIC_PARTICLES
        )
        if position >= len(_ROLES) or followed_by_particle or word.lower() in _PATRONYMIC_PARTICLES:
            declined.append(word)
        else:
            role = _ROLES[position]
            declined.append("-".join(_decline(part, role, gender) for part in word.split("-")))
    return " ".join(declined)


def _gender(words: list[str]) -> Gender:
    last = words[-1].lower()
    if last in _PATRONYMIC_PARTICLES:
        return _PATRONYMIC_PARTICLES[last]
    if len(words) >= 3:
        patronymic = words[2].lower()
        if patronymic.endswith("ич"):
            return "masc"
        if patronymic.endswith("на"):
            return "femn"
    if len(words) >= 2:
        for parse in _morph().parse(words[1]):
            if {"Name", "nomn", "sing"} in parse.tag:
                if "masc" in parse.tag:
                    return "masc"
                if "femn" in parse.tag:
                    return "femn"
    if words[0].lower().endswith(("ова", "ева", "ёва", "ина", "ына", "ая")):
        return "femn"
    return "masc"


def _decline(word: str, role: Role, gender: Gender) -> str:
    if not word.isalpha():
        return word
    lower = word.lower()
    genitive = _by_dictionary(lower, role, gender) or _by_ending(lower, role, gender)
    if "ё" not in lower:
        genitive = genitive.replace("ё", "е")
    return _same_case(word, genitive)


def _by_dictionary(word: str, role: Role, gender: Gender) -> str | None:
    for parse in _morph().parse(word):
        tag = parse.tag
        if {role, "nomn", "sing"} in tag and (gender in tag or "ms-f" in tag):
            if "Fixd" in tag:
                # Russian declines a man's surname that ends in a consonant (Масюк → Масюка).
                return None if gender == "masc" and _declinable_masculine(word) else word
            form = parse.inflect({"gent"})
            if form is not None:
                genitive: str = form.word
                return genitive
    return None


def _by_ending(word: str, role: Role, gender: Gender) -> str:
    """Russian declension of names the dictionary does not know, by their endings."""
    if role == "Patr":
        if word.endswith("ич"):
            return word + "а"
        if word.endswith("на"):
            return word[:-1] + "ы"
        return word
    if role == "Surn":
        if gender == "masc":
            if word.endswith(("кий", "гий", "хий", "ый", "ой")):  # Осеевский, Толстой
                return word[:-2] + "ого"
            if word.endswith("ий"):
                return word[:-2] + "его"
        else:
            if word.endswith(("ова", "ева", "ёва", "ина", "ына")):
                return word[:-1] + "ой"
            if word.endswith("ая"):
                return word[:-2] + "ой"
        if word.endswith(("ых", "их")):
            return word
    if word[-1] in _UNCHANGING_ENDINGS:
        return word
    if word[-1] == "я":
        return word[:-1] + "и"
    if word[-1] == "а":
        return word[:-1] + ("и" if len(word) > 1 and word[-2] in _HUSHING_AND_VELAR else "ы")
    if gender == "femn":
        return word[:-1] + "и" if role == "Name" and word[-1] == "ь" else word
    if word[-1] in "йь":
        return word[:-1] + "я"
    return word + "а"


def _declinable_masculine(word: str) -> bool:
    return word[-1] not in _VOWELS + "йь" and not word.endswith(("ых", "их"))


def _same_case(original: str, declined: str) -> str:
    if original.isupper() and len(original) > 1:
        return declined.upper()
    if original[0].isupper():
        return declined[0].upper() + declined[1:]
    return declined
