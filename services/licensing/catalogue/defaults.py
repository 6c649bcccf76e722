"""The default catalogue and price list a fresh installation starts with (admins replace it)."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class DefaultProduct:
    code: str
    name: str
    protection_kind: str


@dataclass(frozen=True)
class DefaultPrice:
    resident: Decimal
    non_resident: Decimal


DEFAULT_PRODUCTS: tuple[DefaultProduct, ...] = (
    DefaultProduct("BAZIS_FURNITURE", "БАЗИС-Мебельщик", "codemeter"),
    DefaultProduct("BAZIS_CUTTING", "БАЗИС-Раскрой", "codemeter"),
    DefaultProduct("KRAYT_B2B_PORTAL", "Крайт: B2B-портал для 1С-Битрикс", "software"),
    DefaultProduct("BAZIS_VIEWER", "БАЗИС-Просмотрщик", "none"),
)

DEFAULT_PRICES: dict[str, DefaultPrice] = {
    "BAZIS_FURNITURE": DefaultPrice(Decimal("120000.00"), Decimal("150000.00")),
    "BAZIS_CUTTING": DefaultPrice(Decimal("45000.00"), Decimal("56000.00")),
    "KRAYT_B2B_PORTAL": DefaultPrice(Decimal("59900.00"), Decimal("74900.00")),
    "BAZIS_VIEWER": DefaultPrice(Decimal("0.00"), Decimal("0.00")),
    "KEY_PROTECTION": DefaultPrice(Decimal("4900.00"), Decimal("5900.00")),
    "CODEMETER_KEY": DefaultPrice(Decimal("3500.00"), Decimal("4200.00")),
    "DELIVERY": DefaultPrice(Decimal("600.00"), Decimal("2500.00")),
    "SUPPORT_PAID_12M": DefaultPrice(Decimal("24000.00"), Decimal("30000.00")),
    "DATA_CHANGE": DefaultPrice(Decimal("1500.00"), Decimal("1500.00")),
}
