"""The check request as the API receives it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from engine.store.portable import refuse_nul


class CheckRequest(BaseModel):
    """``POST /v1/checks`` body."""

    model_config = ConfigDict(extra="forbid")

    subject_id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)
    ]
    matter: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    as_of: dt.datetime | None = Field(
        default=None,
        description="RFC 3339 time the check is for (default: now); without an offset it is "
        "read as China time (UTC+8); validity is judged on its date in China",
    )
    reference: (
        Annotated[str, StringConstraints(max_length=200), AfterValidator(refuse_nul)] | None
    ) = None
    explain: bool = Field(
        default=False,
        description="also answer why each entry concerning the subject gives no hit "
        "(``explanation``, docs/api.md#explanations)",
    )
