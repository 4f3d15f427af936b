"""`commands:` — a runbook line that is a command with an expected result.

Replaces `./run.sh env-status`, `ufw status | grep active`, `npm audit --audit-level=high`,
`certbot renew --dry-run`. opscheck cannot know what a command does: `read_only: true` is
the user's statement that it changes nothing, and an entry without it is refused.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import FloatLimits, MaybeSecret, Regex, Strict

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

READ_ONLY_REQUIRED = (
    "required: set `read_only: true` to state that this command changes nothing. opscheck runs it "
    "as written and cannot tell; what it does is your responsibility (see docs/commands.md)"
)


def _exit_codes(value):
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


class Expect(Strict):
    """What the command must show: exit codes, and regexes its output must / must not match."""

    exit: Annotated[list[Annotated[int, Field(ge=0, le=255)]], BeforeValidator(_exit_codes)] = Field(default_factory=lambda: [0], min_length=1)
    stdout: Regex | None = None
    not_stdout: Regex | None = None
    stderr: Regex | None = None
    not_stderr: Regex | None = None


class ValueSpec(FloatLimits):
    """A number parsed from the output (the regex's first group, else its whole match), judged."""

    regex: Regex
    stream: Literal["stdout", "stderr"] = "stdout"


class CommandItem(Item):
    command: Annotated[list[str], Field(min_length=1)] | None = None  # argv, run without a shell
    shell: str | None = None                                          # a string for `sh -c`, only when asked
    cwd: str | None = None
    read_only: bool | None = Field(default=None, validate_default=True)
    expect: Expect = Field(default_factory=Expect)
    value: ValueSpec | None = None
    env: dict[Annotated[str, Field(pattern=_NAME)], MaybeSecret] = Field(default_factory=dict)

    @field_validator("read_only")
    @classmethod
    def _stated(cls, value: bool | None) -> bool:
        if value is not True:
            raise ValueError(READ_ONLY_REQUIRED if value is None else
                             "must be true: opscheck runs only commands you state change nothing")
        return value

    @field_validator("cwd")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"expected an absolute path, found {value!r}")
        return value

    @model_validator(mode="after")
    def _one_command(self):
        if (self.command is None) == (self.shell is None):
            raise ValueError("give exactly one of command: (an argv list, no shell) or shell: (a string run by sh -c)")
        return self

    def display(self) -> str:
        """The command as a reader would type it."""
        import shlex

        return self.shell if self.shell is not None else shlex.join(self.command or [])


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"commands": CommandItem}
