"""Subject identifiers: validate, normalise and mask 统一社会信用代码 and 公民身份号码.

Orgs carry an 18-character 统一社会信用代码 (GB 32100-2015) whose characters 9–17 are a
GB 11714 organisation code with its own check character; persons carry an 18-character
公民身份号码 (GB 11643-1999). Both checks are written out here rather than taken from
python-stdnum: ``stdnum.cn.uscc`` assumes the first 8 characters are digits, so it refuses
valid codes of letter registration authorities (``N``, ``Y``, ``A``), and ``stdnum.cn.ric``
refuses real citizen numbers whose county code was created after the birth date (``440106``
天河区, 1985, with a 1980 birth). The algorithms are a few lines each and fully specified.

What is checked: length, character set, both check characters of an org code, and the birth
date and check character of a citizen number. The registration authority, category and region
codes are information, never a reason to refuse: their tables change and a wrong one is
caught by the check characters anyway (except the one swap GB 32100's weights cannot see,
characters 1 and 18). Early pilot codes issued in Fujian before the standard (e.g.
``91350211M0000XUF46``) fail the GB 32100 check and are refused, as the contract requires.

About 1 in 341 citizen numbers also passes both org-code checks (1/31 x 1/11: their digits
are all in the GB 32100 alphabet), so an id alone does not always tell its kind: callers
that know the kind say it, and :func:`either_kind_id` accepts an id valid as either kind.
"""

from __future__ import annotations

from datetime import date
from operator import mul

from engine.errors import InvalidRequest
from engine.timing import china_today
from measures.schema import SubjectKind

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""GB 32100 characters, in value order (no I, O, S, V, Z)."""

_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 ...
_ORG_CODE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714 values A=10 ... Z=35
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 ...
_RIC_CHECK = "10X98765432"
_DIGITS = frozenset("0123456789")
_ORG_CODE_SET = frozenset(_ORG_CODE_CHARS)
_USCC_SET = frozenset(USCC_ALPHABET)
# Character -> value as a bytes translation: the weighted sums then run in C, which matters
# for bulk imports of millions of ids.
_USCC_VALUES = bytes.maketrans(USCC_ALPHABET.encode(), bytes(range(31)))
_ORG_CODE_VALUES = bytes.maketrans(_ORG_CODE_CHARS.encode(), bytes(range(36)))
_RIC_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
"""Birth dates before this are refused: nobody that old is alive, so it is a typo."""

_ORG_NAME = "统一社会信用代码"
_PERSON_NAME = "公民身份号码"
ID_NAMES = {SubjectKind.org: _ORG_NAME, SubjectKind.person: _PERSON_NAME}
_OTHER = {SubjectKind.org: SubjectKind.person, SubjectKind.person: SubjectKind.org}


def uscc_check_char(body: str) -> str:
    """The GB 32100 check character (18th) for the first 17 characters of an org code."""
    if len(body) != 17 or not _USCC_SET.issuperset(body):
        raise ValueError(f"need 17 characters of {USCC_ALPHABET}, got {body!r}")
    total = sum(map(mul, body.encode().translate(_USCC_VALUES), _USCC_WEIGHTS))
    return USCC_ALPHABET[-total % 31]


def org_code_check_char(body: str) -> str:
    """The GB 11714 check character (9th) for the first 8 characters of an organisation code."""
    if len(body) != 8 or not _ORG_CODE_SET.issuperset(body):
        raise ValueError(f"need 8 digits or upper-case letters, got {body!r}")
    check = 11 - sum(map(mul, body.encode().translate(_ORG_CODE_VALUES), _ORG_CODE_WEIGHTS)) % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def ric_check_char(body: str) -> str:
    """The GB 11643 check character (18th) for the first 17 digits of a citizen number."""
    if len(body) != 17 or not _DIGITS.issuperset(body):
        raise ValueError(f"need 17 digits, got {body!r}")
    return _RIC_CHECK[sum(map(mul, body.encode().translate(_RIC_VALUES), _RIC_WEIGHTS)) % 11]


def _clean(raw: str) -> tuple[str, str | None]:
    """(upper-cased id without surrounding blanks, problem with its length or characters)."""
    text = raw.strip()
    if not text.isascii():
        pos, ch = next((pos, ch) for pos, ch in enumerate(text, start=1) if not ch.isascii())
        return text, f"character {pos} {ch!r} is not an ASCII digit or letter"
    text = text.upper()
    if len(text) != 18:
        return text, f"must be 18 characters, got {len(text)}"
    return text, None


def _org_problem(code: str) -> str | None:
    if not _USCC_SET.issuperset(code):
        pos, ch = next((pos, ch) for pos, ch in enumerate(code, start=1) if ch not in _USCC_SET)
        return (
            f"character {pos} {ch!r} is not allowed in a {_ORG_NAME} "
            "(digits and upper-case letters except I, O, S, V, Z)"
        )
    org_check = code[16]
    if org_check not in _DIGITS and org_check != "X":
        return f"character 17 {org_check!r} must be a digit or X (the organisation code's check)"
    expected = org_code_check_char(code[8:16])
    if org_check != expected:
        return (
            f"the organisation code (characters 9-17) fails its GB 11714 check: characters 9-16 "
            f"give check {expected!r}, character 17 is {org_check!r}; a character is mistyped"
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return (
            f"check character mismatch: characters 1-17 give {expected!r}, character 18 is "
            f"{code[17]!r}; a character is mistyped"
        )
    return None


def _person_problem(number: str, today: date) -> str | None:
    if not _DIGITS.issuperset(number[:17]):
        pos, ch = next((pos, ch) for pos, ch in enumerate(number, start=1) if ch not in _DIGITS)
        return f"character {pos} {ch!r} must be a digit"
    if number[17] not in _DIGITS and number[17] != "X":
        return f"character 18 {number[17]!r} must be a digit or X"
    digits = number[6:14]
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return f"birth date (characters 7-14) {digits} is not a calendar date"
    if born < EARLIEST_BIRTH_DATE:
        return f"birth date {born.isoformat()} is before {EARLIEST_BIRTH_DATE.year}"
    if born > today:
        return f"birth date {born.isoformat()} is in the future"
    expected = ric_check_char(number[:17])
    if number[17] != expected:
        return (
            f"check character mismatch: characters 1-17 give {expected!r}, character 18 is "
            f"{number[17]!r}; a character is mistyped"
        )
    return None


def _problem(kind: SubjectKind, text: str, today: date) -> str | None:
    return _org_problem(text) if kind == SubjectKind.org else _person_problem(text, today)


def subject_id_problem(kind: SubjectKind, raw: str, *, today: date | None = None) -> str | None:
    """What is wrong with ``raw`` as an id of this kind, or None when it is valid."""
    text, problem = _clean(raw)
    if problem is None:
        day = today or china_today()
        problem = _problem(kind, text, day)
        if problem is not None and _problem(_OTHER[kind], text, day) is None:
            return (
                f"this is a {_PERSON_NAME}, not an org's {_ORG_NAME}"
                if kind == SubjectKind.org
                else f"this is an org's {_ORG_NAME}, not a {_PERSON_NAME}"
            )
    elif kind == SubjectKind.person and len(text) == 15 and text.isdigit():
        problem += "; 15-digit first-generation numbers are not accepted, give the 18-digit one"
    return problem


def normalize_subject_id(
    kind: SubjectKind, raw: str, *, field: str = "id", today: date | None = None
) -> str:
    """The id upper-cased and stripped, or InvalidRequest naming ``field`` and the problem."""
    problem = subject_id_problem(kind, raw, today=today)
    if problem is not None:
        name = ID_NAMES[kind]
        raise InvalidRequest(
            f"{field} is not a valid {name}: {problem}",
            details=[{"field": field, "message": problem}],
        )
    return raw.strip().upper()


def either_kind_id(raw: str, *, field: str, today: date | None = None) -> str:
    """The id upper-cased when it is a valid 统一社会信用代码 or 公民身份号码 (an id valid as
    both, 1 citizen number in 341, is accepted); InvalidRequest naming ``field`` otherwise.

    The likelier kind is tried first (17 leading digits: a citizen number), so a valid id
    costs one check: every check request asks this.
    """
    day = today or china_today()
    text = raw.strip().upper()
    likelier = SubjectKind.person if text[:17].isdigit() else SubjectKind.org
    problems: dict[SubjectKind, str] = {}
    for kind in (likelier, _OTHER[likelier]):
        problem = subject_id_problem(kind, raw, today=day)
        if problem is None:
            return text
        problems[kind] = problem
    org, person = problems[SubjectKind.org], problems[SubjectKind.person]
    # A wrong length or character reads the same for both kinds: say it once.
    message = org if org == person else f"as a {_ORG_NAME}: {org}; as a {_PERSON_NAME}: {person}"
    raise InvalidRequest(
        f"{field} is neither a valid {_ORG_NAME} nor a valid {_PERSON_NAME}",
        details=[{"field": field, "message": message}],
    )


def mask_subject_id(subject_id: str) -> str:
    """The id as logs may show it: org codes whole (they are public), anything else masked.

    A citizen number keeps its region (6) and last 4 characters: ``110105********002X``. Org
    codes are published on every business licence and in the public credit registers, so
    masking them would only hide which org a log line is about. Anything that is not
    certainly an org code (a malformed id, or one valid as both kinds) is treated as personal.
    """
    text = subject_id.strip().upper()
    if len(text) != 18:
        return "*" * len(text)
    if _org_problem(text) is None and not _looks_personal(text):
        return text
    return text[:6] + "*" * 8 + text[14:]


def _looks_personal(text: str) -> bool:
    # Birth-date plausibility is checked against a fixed far-future day: masking must not
    # depend on the clock, and a false "personal" only masks a public code.
    return _person_problem(text, date(9999, 12, 31)) is None
