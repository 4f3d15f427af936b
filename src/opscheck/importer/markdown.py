"""Fenced code blocks of a Markdown runbook, with the heading they sit under and the prose around them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD = re.compile(r"^\s*(?:[-*]\s+|\d+\.\s+)?\*\*(.+?)\*\*")
SHELL_LANGS = {"", "bash", "sh", "shell", "console", "zsh", "shell-session", "text", "cron", "crontab"}


@dataclass
class Block:
    lang: str
    text: str
    first_line: int          # 1-based line of the block's first content line
    heading: str             # "Daily Operations > Morning System Check"
    label: str               # the bold lead-in just before the block ("Daily Backup:")
    before: str              # prose since the previous block (thresholds, schedules)
    after: str = ""          # prose up to the next block or heading ("The count should be below 50.")


@dataclass
class Document:
    path: str
    lines: list[str]
    blocks: list[Block]
    headings: list[tuple[int, int, str]]  # (line, level, title)

    def heading_at(self, line: int) -> str:
        trail: list[tuple[int, str]] = []
        for at, level, title in self.headings:
            if at > line:
                break
            trail = [t for t in trail if t[0] < level] + [(level, title)]
        return " > ".join(_clean(t) for _, t in trail[1:] or trail)


def _clean(title: str) -> str:
    return re.sub(r"^[^\w(]+", "", title).strip()


def parse(path: str, text: str) -> Document:
    lines = text.splitlines()
    headings: list[tuple[int, int, str]] = []
    blocks: list[Block] = []
    fence = None
    start = 0
    lang = ""
    prose_from = 0
    for number, line in enumerate(lines, 1):
        if fence is None:
            match = _FENCE.match(line)
            if match:
                fence, lang, start = match.group(2), match.group(3).lower(), number + 1
                continue
            heading = _HEADING.match(line)
            if heading:
                headings.append((number, len(heading.group(1)), heading.group(2)))
        elif line.strip().startswith(fence[:3]) and line.strip().strip(fence[0]) == "":
            doc = Document(path, lines, blocks, headings)
            before = "\n".join(lines[prose_from : start - 2])
            blocks.append(Block(lang, "\n".join(lines[start - 1 : number - 1]), start, doc.heading_at(start),
                                _label(lines, start - 2), before))
            prose_from = number
            fence = None
    for block in blocks:
        end = block.first_line + len(block.text.splitlines())  # the closing fence's 0-based index
        prose = []
        for line in lines[end : end + 7]:
            if _FENCE.match(line) or _HEADING.match(line):
                break
            prose.append(line)
        block.after = "\n".join(prose)
    return Document(path, lines, blocks, headings)


def _label(lines: list[str], index: int) -> str:
    """The bold lead-in a few lines above a block (`**Daily Backup:**`)."""
    for i in range(index - 1, max(index - 4, -1), -1):
        match = _BOLD.match(lines[i])
        if match:
            return match.group(1).strip(" :")
        if _HEADING.match(lines[i]):
            return ""
    return ""


def after(doc: Document, block: Block, count: int = 3) -> list[Block]:
    """The blocks that follow `block` (an "Expected response" JSON block)."""
    index = doc.blocks.index(block)
    return doc.blocks[index + 1 : index + 1 + count]
