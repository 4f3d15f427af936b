"""`Aspect[Limits]`: one measured aspect of an entry, on with default limits unless set to `false`.

Shared by the postgres and redis sections, whose entries carry many aspects that
each become their own check.
"""

from __future__ import annotations

import difflib
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


class OptIn:
    """`OptIn[Limits]`: an aspect that runs only when set (`true` or limits) or listed in `only:`.

    Aspects added after a section shipped are opt-in, so an upgrade adds no check that the
    documented monitoring role cannot run (sequence positions need a GRANT pg_monitor lacks).
    """

    def __class_getitem__(cls, model):
        return Annotated[model | None, BeforeValidator(_switch), Field(default=None)]


def allow_list(data: Any, names: dict[str, str]) -> Any:
    """`only: [connect, blocked_queries]`: the listed aspects run, every other one is off.

    `names` maps each name `only:` accepts to its aspect key (`connect` -> `latency`; an
    aspect's own key is accepted too). A listed aspect may carry limits; one that is set
    (limits or `true`) but not listed, or listed but set `false`, contradicts the list and is
    an error rather than a silent choice. Unknown names are `only`'s own error (`check_only`).
    """
    if not isinstance(data, dict) or not isinstance(data.get("only"), list):
        return data
    keys = set(names.values())
    listed = {names.get(n, n) for n in data["only"] if isinstance(n, str)}
    shown = {key: name for name, key in names.items()}
    for key in sorted(keys):
        value = data.get(key, None)
        if key in listed and value is False:
            raise ValueError(f"{shown.get(key, key)} is listed in only: but set to false: drop one of the two")
        if key not in listed and key in data and value is not False:
            raise ValueError(f"{key} is set but not listed in only: [{', '.join(map(str, data['only']))}]:"
                             f" add {shown.get(key, key)} to only: or drop {key}:")
    # Listed without limits: on with its defaults (an opt-in aspect too).
    return {**data, **{key: False for key in keys if key not in listed}, **{key: True for key in listed & keys if key not in data}}


def check_only(value: list[str] | None, names: dict[str, str]) -> list[str] | None:
    """Every name of `only:` is an aspect of the section; the error lists the valid ones."""
    if value is None:
        return value
    valid = list(names)
    accepted = set(names) | set(names.values())
    unknown = [n for n in value if n not in accepted]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), sorted(accepted), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown aspect {', '.join(map(repr, unknown))} (valid: {', '.join(valid)}){hint}")
    if not value:
        raise ValueError(f"an empty allow-list checks nothing: list aspects (valid: {', '.join(valid)})")
    return value


def only_names(model, aliases: dict[str, str]) -> dict[str, str]:
    """`only:` names of `model`'s aspects, in field order: an alias for a key where one reads better."""
    keys = [name for name, field in model.model_fields.items() if _is_aspect(field)]
    by_key = {key: name for name, key in aliases.items()}
    return {by_key.get(key, key): key for key in keys}


def _is_aspect(field) -> bool:
    return any(getattr(m, "func", None) is _switch for m in field.metadata)
