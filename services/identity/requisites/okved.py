"""OKVED2 sections: the classification derived from an OKVED code (rule 2), e.g. 62.01 → J."""

from dataclasses import dataclass

from services.identity.requisites.errors import RequisiteError
from services.identity.requisites.validators import validate_okved


@dataclass(frozen=True, slots=True)
class OkvedSection:
    letter: str
    first_class: int
    last_class: int
    title: str

    @property
    def classification(self) -> str:
        return f"{self.letter} — {self.title}"


# ОК 029-2014 (КДЕС Ред. 2): each section is a run of two-digit classes.
OKVED_SECTIONS: tuple[OkvedSection, ...] = (
    OkvedSection("A", 1, 3, "Сельское, лесное хозяйство, охота, рыболовство и рыбоводство"),
    OkvedSection("B", 5, 9, "Добыча полезных ископаемых"),
    OkvedSection("C", 10, 33, "Обрабатывающие производства"),
    OkvedSection(
        "D",
        35,
        35,
        "Обеспечение электрической энергией, газом и паром; кондиционирование воздуха",
    ),
    OkvedSection(
        "E",
        36,
        39,
        "Водоснабжение; водоотведение, организация сбора и утилизации отходов, "
        "деятельность по ликвидации загрязнений",
    ),
    OkvedSection("F", 41, 43, "Строительство"),
    OkvedSection(
        "G",
        45,
        47,
        "Торговля оптовая и розничная; ремонт автотранспортных средств и мотоциклов",
    ),
    OkvedSection("H", 49, 53, "Транспортировка и хранение"),
    OkvedSection("I", 55, 56, "Деятельность гостиниц и предприятий общественного питания"),
    OkvedSection("J", 58, 63, "Деятельность в области информации и связи"),
    OkvedSection("K", 64, 66, "Деятельность финансовая и страховая"),
    OkvedSection("L", 68, 68, "Деятельность по операциям с недвижимым имуществом"),
    OkvedSection("M", 69, 75, "Деятельность профессиональная, научная и техническая"),
    OkvedSection(
        "N", 77, 82, "Деятельность административная и сопутствующие дополнительные услуги"
    ),
    OkvedSection(
        "O",
        84,
        84,
        "Государственное управление и обеспечение военной безопасности; социальное обеспечение",
    ),
    OkvedSection("P", 85, 85, "Образование"),
    OkvedSection("Q", 86, 88, "Деятельность в области здравоохранения и социальных услуг"),
    OkvedSection(
        "R", 90, 93, "Деятельность в области культуры, спорта, организации досуга и развлечений"
    ),
    OkvedSection("S", 94, 96, "Предоставление прочих видов услуг"),
    OkvedSection(
        "T",
        97,
        98,
        "Деятельность домашних хозяйств как работодателей; недифференцированная деятельность "
        "частных домашних хозяйств по производству товаров и оказанию услуг для собственного "
        "потребления",
    ),
    OkvedSection("U", 99, 99, "Деятельность экстерриториальных организаций и органов"),
)


def section_for(okved: str) -> OkvedSection:
    """The OKVED2 section a code belongs to, by its two-digit class."""
    code_class = int(validate_okved(okved)[:2])
    for section in OKVED_SECTIONS:
        if section.first_class <= code_class <= section.last_class:
            return section
    raise RequisiteError(f"OKVED class {code_class:02d} belongs to no OKVED2 section")


def known_okved(value: str) -> str:
    """A well-formed OKVED code that belongs to an OKVED2 section, normalized."""
    code = validate_okved(value)
    section_for(code)
    return code


def classification_for(okved: str) -> str:
    """'62.01' → 'J — Деятельность в области информации и связи'."""
    return section_for(okved).classification
