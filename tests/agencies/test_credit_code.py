"""GB 32100-2015 credit codes: published valid codes pass, corrupted copies fail."""

from __future__ import annotations

import pytest

from lianxing.domain.credit_code import WEIGHTS, check_character, check_credit_code

# Published examples: the worked example of GB 32100-2015 (91350100M000100Y43, check "3"),
# the code of the brief (91110000802100433B), codes used as valid in hutool's
# CreditCodeUtilTest and winjs-dev/cloud-utils.
PUBLISHED_VALID = [
    "91350100M000100Y43",
    "91110000802100433B",
    "91310110666007217T",
    "91310115591693856A",
    "91230184MA1BUFLT44",
    "92371000MA3MXH0E3W",
]


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_the_standards_worked_example() -> None:
    # GB 32100-2015 example: Σ Ci × Wi = 1640, 1640 mod 31 = 28, 31 − 28 = 3.
    assert check_character("91350100M000100Y4") == "3"
    # The standard's counter-example ends in "Z", which is not even in the code set.
    result = check_credit_code("91350100M000100Y4Z")
    assert not result.valid
    assert "outside the code set: Z" in (result.problem_en or "")
    result = check_credit_code("91350100M000100Y4A")
    assert result.problem_en == (
        "'91350100M000100Y4A': check character is 'A'; GB 32100-2015 gives '3'"
    )


@pytest.mark.parametrize("code", PUBLISHED_VALID)
def test_published_codes_are_valid(code: str) -> None:
    result = check_credit_code(code)
    assert result.valid, result.problem_en
    assert check_credit_code(code.lower() + " ").valid  # case and spaces do not matter


@pytest.mark.parametrize("code", PUBLISHED_VALID)
def test_every_single_character_change_is_caught(code: str) -> None:
    # The check character detects any one substituted character (31 is prime and every
    # weight is non-zero mod 31).
    for position in range(18):
        for replacement in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if replacement == code[position]:
                continue
            corrupted = code[:position] + replacement + code[position + 1 :]
            assert not check_credit_code(corrupted).valid, corrupted


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("", "no unified social credit code given"),
        ("91110000802100433", "'91110000802100433' has 17 characters; a credit code has 18"),
        (
            "91110000802I00433B",
            "'91110000802I00433B' contains characters outside the code set: I "
            "(I, O, S, V, Z unused)",
        ),
        (
            "91440101MA9YTEST02",
            "'91440101MA9YTEST02' contains characters outside the code set: S "
            "(I, O, S, V, Z unused)",
        ),
        (
            "B1110000802100433B",
            "'B1110000802100433B': position 1 'B' is not a registration authority code",
        ),
        (
            "9A110000802100433B",
            "'9A110000802100433B': position 2 'A' is not an organisation "
            "kind of authority '9' (expected one of 1, 2, 3)",
        ),
        (
            "9111A000802100433B",
            "'9111A000802100433B': positions 3–8 '11A000' must be a 6-digit division code",
        ),
        # Swapped neighbours (a typing slip) and an early pilot code (hutool's example).
        (
            "91110000820100433B",
            "'91110000820100433B': check character is 'B'; GB 32100-2015 gives '3'",
        ),
        (
            "91350211M00013FA1N",
            "'91350211M00013FA1N': check character is 'N'; GB 32100-2015 gives '3'",
        ),
    ],
)
def test_malformed_codes_name_their_problem(code: str, problem: str) -> None:
    result = check_credit_code(code)
    assert not result.valid
    assert result.problem_en == problem
    assert result.problem_zh
