"""`Aspect[Limits]`: one measured aspect of an entry, on with default limits unless set to `false`.

Shared by the postgres and redis sections, whose entries carry many aspects that
each become their own check.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def _switch(value: Any) -> Any:
    """`false` turns an aspect off, `true` keeps its defaults."""
    if value is False:
        return None
    return {} if value is True else value


class Aspect:
    """`Aspect[Limits]`: the limits model with its defaults, or None when the inventory turns it off."""

    def __class_getitem__(cls, model):
        return Annotated[model | None, BeforeValidator(_switch), Field(default_factory=model)]
