"""Request values that a database would refuse or change are refused with the place named."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel, ValidationError

from engine.store.portable import PortableObject, SafeText, portable_json


class Body(BaseModel):
    text: SafeText = ""
    attributes: PortableObject = {}


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"amount": math.nan}, "at amount"),
        ({"a": {"b": [1, math.inf]}}, "at a.b[1]"),
        ({"a": "x\x00y"}, "at a"),
        ({"k\x00": 1}, "in a key"),
    ],
)
def test_unportable_attributes_are_refused(value: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Body(attributes=value)
    (error,) = caught.value.errors()
    assert error["loc"] == ("attributes",)
    assert where in error["msg"]


def test_portable_values_pass_unchanged() -> None:
    value = {"amount": 1.5, "n": 10**20, "nested": [{"ok": None, "中文": "是"}], "flag": True}
    assert portable_json(value) == value
    assert Body(text="正常文本", attributes=value).attributes == value


def test_nul_in_text_is_refused() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        Body(text="a\x00b")
