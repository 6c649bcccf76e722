"""Rule 4: activation codes from an unambiguous alphabet in groups, with a check character that
catches every single-character substitution and every adjacent transposition."""

from hypothesis import given
from hypothesis import strategies as st

from services.licensing.licenses.activation_code import (
    ALPHABET,
    LENGTH,
    check_character,
    format_code,
    new_activation_code,
    normalize,
)

bodies = st.text(alphabet=ALPHABET, min_size=LENGTH - 1, max_size=LENGTH - 1)


def code_of(body: str) -> str:
    return body + check_character(body)


def test_a_new_code_is_four_groups_of_five_from_the_alphabet_and_checks():
    code = new_activation_code()
    groups = code.split("-")
    assert [len(group) for group in groups] == [5, 5, 5, 5]
    assert set("".join(groups)) <= set(ALPHABET)
    assert not set("01IO") & set(code)
    assert normalize(code) == code


def test_codes_are_read_without_case_spaces_or_hyphens():
    code = new_activation_code()
    assert normalize(code.lower()) == code
    assert normalize(code.replace("-", "")) == code
    assert normalize(code.replace("-", " ")) == code


@given(bodies, st.integers(0, LENGTH - 1), st.sampled_from(ALPHABET))
def test_every_single_substitution_is_caught(body, position, replacement):
    code = code_of(body)
    if code[position] == replacement:
        return
    typo = code[:position] + replacement + code[position + 1 :]
    assert normalize(typo) is None


@given(bodies, st.integers(0, LENGTH - 2))
def test_every_adjacent_transposition_is_caught(body, position):
    code = code_of(body)
    if code[position] == code[position + 1]:
        return
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert normalize(swapped) is None


def test_every_substitution_and_transposition_of_one_code_exhaustively():
    code = code_of(new_activation_code().replace("-", "")[: LENGTH - 1])
    assert normalize(code) == format_code(code)
    for position in range(LENGTH):
        for replacement in ALPHABET:
            if replacement != code[position]:
                assert normalize(code[:position] + replacement + code[position + 1 :]) is None
    for position in range(LENGTH - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            assert normalize(code[:position] + b + a + code[position + 2 :]) is None


def test_wrong_length_and_foreign_characters_are_not_codes():
    code = new_activation_code().replace("-", "")
    for typed in ("", code[:-1], code + "2", code[:-1] + "0", code[:-1] + "O", "Ж" * LENGTH):
        assert normalize(typed) is None
