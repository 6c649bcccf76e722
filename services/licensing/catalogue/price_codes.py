"""The services the vendor sells besides products: their price-list codes and names.

Other services invoice them by code (dongle: `KEY_PROTECTION`, `CODEMETER_KEY`, `DELIVERY`;
identity: `DATA_CHANGE`; licensing: `SUPPORT_PAID_12M`), so the list is fixed in code: a new
service is a new code here, never a typo that silently becomes an item.
"""

SERVICE_NAMES: dict[str, str] = {
    "KEY_PROTECTION": "Дополнительная защита электронного ключа",
    "CODEMETER_KEY": "Электронный ключ CodeMeter",
    "DELIVERY": "Доставка электронного ключа",
    "SUPPORT_PAID_12M": "Платная техническая поддержка на 12 месяцев",
    "DATA_CHANGE": "Изменение данных в личном кабинете",
}

PRICE_CODE_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
"""Product and service codes share one namespace: `shared.events.common.PriceCode`."""


def is_service_code(code: str) -> bool:
    return code in SERVICE_NAMES
