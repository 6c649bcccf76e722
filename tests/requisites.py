"""Real-format Russian requisites for a fresh test company: every check digit computed."""

import random

from stdnum.ru import inn as inn_digits

BIK, CORRESPONDENT_ACCOUNT = "044525225", "30101810400000000225"  # ПАО Сбербанк, Москва
ACCOUNT_WEIGHTS = ((7, 1, 3) * 8)[:23]


def company_inn() -> str:
    body = f"77{random.randint(0, 10**7 - 1):07d}"
    return body + inn_digits.calc_company_check_digit(body)


def ogrn() -> str:
    body = f"1{random.randint(0, 10**11 - 1):011d}"
    return body + str(int(body) % 11 % 10)


def settlement_account(bik: str = BIK) -> str:
    """A 40702 account whose control key (9th digit) agrees with the BIK."""
    account = list(f"40702810{0}{random.randint(0, 10**11 - 1):011d}")
    for key in range(10):
        account[8] = str(key)
        digits = bik[-3:] + "".join(account)
        if sum(int(d) * w for d, w in zip(digits, ACCOUNT_WEIGHTS, strict=True)) % 10 == 0:
            return "".join(account)
    raise AssertionError("no control key fits")


def phone() -> str:
    return f"+7916{random.randint(0, 9_999_999):07d}"


def new_organization(**changes: object) -> dict[str, object]:
    organization: dict[str, object] = {
        "country": "RU",
        "legal_form": "ООО",
        "full_name": "Общество с ограниченной ответственностью Ромашка",
        "short_name": "ООО Ромашка",
        "inn": company_inn(),
        "kpp": "773601001",
        "ogrn": ogrn(),
        "okved": "62.01",
        "okpo": None,
        "classification": None,
        "director_name": "Иванов Иван Иванович",
        "director_name_genitive": None,
        "director_basis": "Устава",
        "bank": {
            "bik": BIK,
            "name": "ПАО Сбербанк",
            "settlement_account": settlement_account(),
            "correspondent_account": CORRESPONDENT_ACCOUNT,
        },
        "legal_address": {
            "postal_code": "117997",
            "region": "г. Москва",
            "district": None,
            "locality": "Москва",
            "street": "ул. Вавилова",
            "line": "117997, г. Москва, ул. Вавилова, д. 19",
        },
        "actual_address": None,
    }
    organization.update(changes)
    return organization
