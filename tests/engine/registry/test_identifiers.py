from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.errors import InvalidRequest
from engine.registry.identifiers import (
    USCC_ALPHABET,
    either_kind_id,
    mask_subject_id,
    normalize_subject_id,
    org_code_check_char,
    ric_check_char,
    subject_id_problem,
    uscc_check_char,
)
from measures.schema import SubjectKind

TODAY = date(2026, 11, 22)
DIGITS = "0123456789"

# Real codes, from public validator test suites and issue threads (hutool, bluesky335/IDCheck,
# ntnyq/uscc-utils, any-rule, xbeginagain/generator) and org constants in public repositories.
REAL_ORG_CODES = [
    "91110000600037341L",  # docs/domain.md's example
    "91350100M000100Y43",  # "官方示例" in IDCheck's tests
    "9135010557098120XJ",  # 福建百度博瑞网络科技有限公司
    "91120222MA06DG3067",  # 天津云上畅游科技合伙企业（有限合伙）
    "91120222MA0699U071",  # 天津锤子科技有限公司
    "91310000MA1K35Y38P",  # 锤子科贸（上海）有限公司
    "91110108795101314G",  # 谷歌信息技术（中国）有限公司
    "914403001922038216",  # 华为技术有限公司
    "91330000704202479R",  # 浙江小王子食品有限公司
    "91500105MA5UM6TF71",  # 重庆云嘟嘟科技有限公司
    "913504001555807674",  # 福建一建集团有限公司
    "9135020026015919XW",  # 厦门象屿集团有限公司
    "913502006120495420",  # 厦门中骏集团有限公司
    "91370000728611939A",  # 山东步长制药股份有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91310115591693856A",
    "91310110666007217T",
    "91330201MA282UF146",
    "91330401MA28ADM67R",
    "91310112MA1GBKRE47",
    "92141127MA0KD1Y64A",  # an individual business (92); its reporter found it on cods.org.cn
    "12440600MB2C07549J",  # a public institution (12)
    "531000005000160090",  # 中国红十字基金会 (民政, foundation)
    "52410000663412719U",  # 河南省嵩山少林寺文化院 (民政, private non-enterprise unit)
]

# Fujian pilot codes issued before GB 32100 took effect: real, but their 18th character does
# not follow the standard. The contract refuses a wrong check character, so these are refused.
FUJIAN_PILOT_CODES = [
    "91350211M0000XUF46",
    "91350100M0001TGQXM",
    "91350203M0001FUE2P",
    "91350203M0001QKT19",
    "91350211M00013FA1N",
]


def build_org(authority: str, category: str, region: str, body: str) -> str:
    head = authority + category + region + body + org_code_check_char(body)
    return head + uscc_check_char(head)


def build_person(region: str, born: date, sequence: int) -> str:
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + ric_check_char(body)


alphabet_char = st.sampled_from(USCC_ALPHABET)
org_codes = st.builds(
    build_org,
    authority=alphabet_char,
    category=alphabet_char,
    region=st.text(DIGITS, min_size=6, max_size=6),
    body=st.text(USCC_ALPHABET, min_size=8, max_size=8),
)
person_ids = st.builds(
    build_person,
    region=st.text(DIGITS, min_size=6, max_size=6),
    born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(0, 999),
)


def problem(kind: SubjectKind, raw: str) -> str | None:
    return subject_id_problem(kind, raw, today=TODAY)


@pytest.mark.parametrize("code", REAL_ORG_CODES)
def test_real_org_codes_pass_both_checks(code: str) -> None:
    assert code[16] == org_code_check_char(code[8:16])
    assert code[17] == uscc_check_char(code[:17])
    assert normalize_subject_id("org", code.lower(), today=TODAY) == code
    assert either_kind_id(code, field="id", today=TODAY) == code


@pytest.mark.parametrize("code", FUJIAN_PILOT_CODES)
def test_fujian_pilot_codes_fail_only_the_final_check(code: str) -> None:
    assert code[16] == org_code_check_char(code[8:16])
    message = problem("org", code)
    assert message is not None and message.startswith("check character mismatch")


def test_standard_person_examples() -> None:
    assert normalize_subject_id("person", "11010519491231002x", today=TODAY) == (
        "11010519491231002X"
    )
    # GB 11643's other worked example is born in 1880: refused by the 1900 floor.
    assert ric_check_char("44052418800101001") == "4"
    assert problem("person", "440524188001010014") == "birth date 1880-01-01 is before 1900"


def test_region_is_information_only() -> None:
    # 天河区 (440106) was created in 1985; numbers first issued there carry earlier births.
    number = build_person("440106", date(1980, 1, 1), 1)
    assert number == "440106198001010019"
    assert normalize_subject_id("person", number, today=TODAY) == number
    assert problem("person", build_person("000000", date(1990, 5, 5), 0)) is None


@pytest.mark.parametrize("authority", ["1", "5", "9", "A", "N", "Y"])
def test_letter_and_digit_registration_authorities(authority: str) -> None:
    code = build_org(authority, "2", "440106", "MA5UM6TF")
    assert normalize_subject_id("org", code, today=TODAY) == code


@given(org_codes)
def test_valid_org_codes_accepted_in_any_case(code: str) -> None:
    assert normalize_subject_id("org", code, today=TODAY) == code
    assert normalize_subject_id("org", f" {code.lower()}\t", today=TODAY) == code


@given(person_ids)
def test_valid_person_ids_accepted_in_any_case(number: str) -> None:
    assert normalize_subject_id("person", number, today=TODAY) == number
    assert normalize_subject_id("person", number.lower(), today=TODAY) == number


@given(org_codes, st.integers(0, 17), alphabet_char)
def test_org_single_substitution_always_refused(code: str, pos: int, ch: str) -> None:
    assume(code[pos] != ch)
    assert problem("org", code[:pos] + ch + code[pos + 1 :]) is not None


@given(person_ids, st.integers(0, 17), st.sampled_from(DIGITS + "X"))
def test_person_single_substitution_always_refused(number: str, pos: int, ch: str) -> None:
    assume(number[pos] != ch)
    assert problem("person", number[:pos] + ch + number[pos + 1 :]) is not None


def swapped(text: str, i: int, j: int) -> str:
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@given(org_codes, st.integers(0, 17), st.integers(0, 17))
def test_org_transpositions_refused_except_first_and_last(code: str, i: int, j: int) -> None:
    # GB 32100 weighs character i by 3**i mod 31 and the check character by 1 = 3**0: every
    # weight differs (3 has order 30 mod 31) except those of characters 1 and 18.
    assume(code[i] != code[j])
    changed = swapped(code, i, j)
    if {i, j} == {0, 17}:
        assert problem("org", changed) is None
    else:
        assert problem("org", changed) is not None


@given(person_ids, st.integers(0, 17), st.integers(0, 17))
def test_person_transpositions_refused_unless_ten_apart(number: str, i: int, j: int) -> None:
    # GB 11643 weighs position p by 2**(18-p) mod 11; 2 has order 10 mod 11, so only swaps
    # of characters ten apart keep the weighted sum (the birth date may still catch them).
    assume(number[i] != number[j])
    changed = swapped(number, i, j)
    if abs(i - j) == 10 and "X" not in changed[:17]:
        assert ric_check_char(changed[:17]) == changed[17]
    else:
        assert problem("person", changed) is not None


@given(org_codes, st.integers(0, 16))
def test_org_adjacent_transpositions_always_refused(code: str, i: int) -> None:
    assume(code[i] != code[i + 1])
    assert problem("org", swapped(code, i, i + 1)) is not None


@given(person_ids, st.integers(0, 16))
def test_person_adjacent_transpositions_always_refused(number: str, i: int) -> None:
    assume(number[i] != number[i + 1])
    assert problem("person", swapped(number, i, i + 1)) is not None


@given(person_ids)
def test_person_id_given_as_org_names_the_mistake(number: str) -> None:
    assume(problem("org", number) is not None)  # 1 in 341 is valid as both kinds
    with pytest.raises(InvalidRequest) as caught:
        normalize_subject_id("org", number, field="items[3].id", today=TODAY)
    assert caught.value.details == [
        {"field": "items[3].id", "message": "this is a 公民身份号码, not an org's 统一社会信用代码"}
    ]


@given(org_codes)
def test_org_code_given_as_person_names_the_mistake(code: str) -> None:
    assume(problem("person", code) is not None)
    assert problem("person", code) == "this is an org's 统一社会信用代码, not a 公民身份号码"


def test_an_id_valid_as_both_kinds_is_accepted_as_either_and_inferred_as_neither() -> None:
    number = next(
        n
        for s in range(1000)
        if problem("org", n := build_person("110105", date(1980, 1, 1), s)) is None
    )
    assert normalize_subject_id("org", number, today=TODAY) == number
    assert normalize_subject_id("person", number, today=TODAY) == number
    assert either_kind_id(number, field="id", today=TODAY) == number
    assert mask_subject_id(number) == number[:6] + "********" + number[14:]


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("org", "9111000060003734", "must be 18 characters, got 16"),
        ("org", "91110000600037341LL", "must be 18 characters, got 19"),
        ("org", "", "must be 18 characters, got 0"),
        ("org", "９1110000600037341L", "character 1 '９' is not an ASCII digit or letter"),
        (
            "org",
            "9111000060003734IL",
            "character 17 'I' is not allowed in a 统一社会信用代码 "
            "(digits and upper-case letters except I, O, S, V, Z)",
        ),
        (
            "org",
            "9111000060003734AL",
            "character 17 'A' must be a digit or X (the organisation code's check)",
        ),
        (
            "org",
            "91110000600037345L",
            "the organisation code (characters 9-17) fails its GB 11714 check: characters 9-16 "
            "give check '1', character 17 is '5'; a character is mistyped",
        ),
        (
            "org",
            "91110000600037341M",
            "check character mismatch: characters 1-17 give 'L', character 18 is 'M'; "
            "a character is mistyped",
        ),
        (
            "person",
            "110105490101002",
            "must be 18 characters, got 15; 15-digit first-generation numbers are not "
            "accepted, give the 18-digit one",
        ),
        ("person", "1101051949123A002X", "character 14 'A' must be a digit"),
        ("person", "11010519491231002Y", "character 18 'Y' must be a digit or X"),
        (
            "person",
            "11010519490229002X",
            "birth date (characters 7-14) 19490229 is not a calendar date",
        ),
        ("person", "110105202611230020", "birth date 2026-11-23 is in the future"),
        ("person", "110105189912310020", "birth date 1899-12-31 is before 1900"),
        (
            "person",
            "110105194912310021",
            "check character mismatch: characters 1-17 give 'X', character 18 is '1'; "
            "a character is mistyped",
        ),
    ],
)
def test_problems_are_named(kind: SubjectKind, raw: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalize_subject_id(kind, raw, field="subject_id", today=TODAY)
    assert caught.value.code == "invalid_request"
    assert caught.value.details == [{"field": "subject_id", "message": message}]


def test_birth_date_bounds_are_inclusive() -> None:
    assert problem("person", build_person("110105", TODAY, 1)) is None
    assert problem("person", build_person("110105", date(1900, 1, 1), 1)) is None
    assert problem("person", build_person("110105", date(2000, 2, 29), 1)) is None


def test_either_kind_id() -> None:
    assert either_kind_id(" 91110000600037341l ", field="id", today=TODAY) == "91110000600037341L"
    assert either_kind_id("11010519491231002x", field="id", today=TODAY) == "11010519491231002X"
    for bad in ("91110000600037341M", "hello"):
        with pytest.raises(InvalidRequest) as raised:
            either_kind_id(bad, field="subject_id", today=TODAY)
        assert raised.value.details[0]["field"] == "subject_id"


def test_mask_subject_id() -> None:
    assert mask_subject_id("11010519491231002X") == "110105********002X"
    assert mask_subject_id("11010519491231002x") == "110105********002X"
    assert mask_subject_id("91110000600037341L") == "91110000600037341L"
    # Not certainly an org code: treated as personal.
    assert mask_subject_id("91110000600037341M") == "911100********341M"
    assert mask_subject_id("110105490101002") == "*" * 15
    assert mask_subject_id("") == ""


@pytest.mark.parametrize(
    ("check", "body"),
    [
        (uscc_check_char, "9111000060003734"),
        (uscc_check_char, "9111000060003734I"),
        (org_code_check_char, "6000373"),
        (org_code_check_char, "6000373-"),
        (ric_check_char, "1101051949123100"),
        (ric_check_char, "1101051949123100X"),
    ],
)
def test_check_char_functions_refuse_bad_bodies(check: Callable[[str], str], body: str) -> None:
    with pytest.raises(ValueError):
        check(body)
