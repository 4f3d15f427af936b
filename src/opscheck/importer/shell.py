"""Shell blocks to pipelines: bashlex parses; variables, `$(...)`, if-tests and wrappers are resolved.

A block bashlex cannot read whole is read in the smallest chunks it can (a line, an
if…fi), so one odd line never hides the rest; a line no chunk covers is `unparsed`.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field

import bashlex
import bashlex.errors

_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_DATE = re.compile(r"\$\(\s*date\b[^)]*\)|`date[^`]*`")
_SUBST = re.compile(r"\$\((?:[^()]|\([^()]*\))*\)|`[^`]*`")
_CRON = re.compile(r"^\s*((?:@(?:hourly|daily|weekly|monthly|yearly|reboot))|(?:[\d*/,-]+\s+){4}[\d*/,A-Za-z-]+)\s+(\S.*)$")
_EXPECTED = re.compile(r"#.*\b(expected|example|sample)\b.*\b(response|output|result)", re.I)
_BC = re.compile(r"\$\{?(\w+)\}?\s*(<=|>=|<|>|==)\s*(-?\d+(?:\.\d+)?)")
_TEST_OPS = {"-gt": ">", "-ge": ">=", "-lt": "<", "-le": "<=", "-eq": "==", "-ne": "!=", ">": ">", "<": "<"}


@dataclass
class Stage:
    argv: list[str]
    container: str | None = None      # docker exec / docker compose exec target
    redirects: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Pipe:
    """One pipeline as written on one line, with what the surrounding script says about it."""

    stages: list[Stage]
    line: int                                  # 0-based line within the block
    assigned_to: str | None = None             # VAR=$(pipeline)
    tests: list[tuple[str, float, int]] = field(default_factory=list)  # (op, number, line) from [ $VAR -gt N ]
    cwd: str | None = None
    comment: str = ""                          # the comment or echo just above it
    expected_json: object = None               # an "Expected response" JSON after it
    alert_text: str = ""                       # what the if-body says (WARNING/CRITICAL)
    in_loop: bool = False
    epoch: bool = False                        # its output went through `date -d … +%s`
    input: str = ""                            # what an `echo … |` before it feeds in

    @property
    def main(self) -> Stage:
        return self.stages[0]

    @property
    def filters(self) -> list[list[str]]:
        return [s.argv for s in self.stages[1:]]


@dataclass
class Cron:
    schedule: str
    command: str
    line: int


@dataclass
class ParsedBlock:
    pipes: list[Pipe]
    crons: list[Cron]
    unparsed: list[int]        # 0-based lines nothing could parse
    variables: dict[str, str]
    file_tests: list[str] = field(default_factory=list)


def expand(word: str, variables: dict[str, str]) -> str:
    """Known literal variables in; `$(date …)` becomes `*` (a file name pattern)."""
    word = _DATE.sub("*", word)

    def sub(match: re.Match) -> str:
        return variables.get(match.group(1), match.group(0))

    for _ in range(3):
        new = _VAR.sub(sub, word)
        if new == word:
            break
        word = _DATE.sub("*", new)
    return word


_WRAPPERS = {"sudo", "nice", "ionice", "time", "nohup", "command", "exec", "stdbuf"}


def unwrap(argv: list[str]) -> tuple[list[str], str | None, str | None]:
    """Strip sudo/timeout/watch and docker exec wrappers: (inner argv, container, inner shell text)."""
    container = None
    while argv:
        head = argv[0].rsplit("/", 1)[-1]
        if head in _WRAPPERS:
            argv = [a for a in argv[1:]]
            while argv and argv[0].startswith("-"):
                argv = argv[1:]
        elif head == "timeout" and len(argv) > 2:
            argv = argv[2:] if not argv[1].startswith("-") else argv[3:]
        elif head == "watch":
            rest = argv[1:]
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in ("-n", "--interval") else rest[1:]
            if len(rest) == 1:
                return [], container, rest[0]
            argv = rest
            continue
        elif head == "kubectl" and len(argv) > 2 and argv[1] in ("exec", "run") and "--" in argv:
            names = [a for a in argv[2 : argv.index("--")] if not a.startswith("-")]
            container = names[0].split("/")[-1] if names else container
            argv = argv[argv.index("--") + 1 :]
        elif head in ("bash", "sh") and len(argv) >= 3 and argv[1] == "-c":
            return [], container, argv[2]
        elif head == "docker" and len(argv) > 2 and argv[1] == "exec" or (
            head == "docker-compose" and len(argv) > 2 and argv[1] == "exec") or (
            head == "docker" and len(argv) > 3 and argv[1] == "compose" and argv[2] == "exec"):
            rest = argv[3:] if argv[1] == "compose" else argv[2:]
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in ("-u", "--user", "-w", "--workdir", "-e", "--env") else rest[1:]
            if not rest:
                break
            container, argv = rest[0], rest[1:]
        else:
            break
    return argv, container, None


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos)


class _Reader:
    def __init__(self, variables: dict[str, str]):
        self.pipes: list[Pipe] = []
        self.variables = variables
        self.producers: dict[str, Pipe] = {}
        self.cwd: str | None = None
        self.comments: dict[int, str] = {}
        self.file_tests: list[str] = []   # paths a `[ -f PATH ]` test expects to exist

    def read(self, text: str, offset: int, context: dict) -> None:
        for node in bashlex.parse(text):
            self.node(node, text, offset, context)

    def node(self, node, text, offset, ctx) -> None:
        kind = node.kind
        if kind == "pipeline":
            commands = [p for p in node.parts if p.kind == "command"]
            self.pipeline(commands, text, offset, ctx, node.pos[0])
        elif kind == "command":
            self.pipeline([node], text, offset, ctx, node.pos[0])
        elif kind in ("list", "compound"):
            for part in getattr(node, "parts", None) or getattr(node, "list", []):
                self.node(part, text, offset, ctx)
        elif kind == "if":
            self.if_node(node, text, offset, ctx)
        elif kind in ("for", "while", "until"):
            for part in node.parts:
                self.node(part, text, offset, {**ctx, "loop": True})
        elif kind == "function":
            for part in node.parts:
                self.node(part, text, offset, ctx)

    def if_node(self, node, text, offset, ctx) -> None:
        parts = node.parts
        # The then-part says how bad the condition is: WARNING vs CRITICAL/ALERT.
        body = text[parts[0].pos[0] : node.pos[1]]
        alert = " ".join(re.findall(r"\b(WARN\w*|CRIT\w*|ALERT|ERROR|FATAL)\b", body, re.I))
        for part in parts:
            if part.kind == "reservedword":
                continue
            self.node(part, text, offset, {**ctx, "alert": alert})

    def pipeline(self, commands, text, offset, ctx, start) -> None:
        stages: list[Stage] = []
        inner_texts: list[str] = []
        for command in commands:
            words, redirects, assigns = [], [], []
            for part in command.parts:
                if part.kind == "word":
                    words.append(part)
                elif part.kind == "redirect":
                    out = part.output
                    target = out.word if hasattr(out, "word") else str(out)
                    redirects.append((part.type, expand(target, self.variables)))
                elif part.kind == "assignment":
                    assigns.append(part)
            if not words:
                for assign in assigns:
                    self.assignment(assign, text, offset, ctx)
                continue
            argv = [expand(w.word, self.variables) for w in words]
            if self.test(argv, offset + _line_of(text, command.pos[0]), ctx):
                continue
            for w in words:  # commands inside $(...) are commands too
                for sub in _substitutions(w):
                    self.node(sub, text, offset, ctx)
            argv, container, inner = unwrap(argv)
            if inner:
                inner_texts.append(inner)
            if argv:
                stages.append(Stage(argv, container, redirects))
        line = offset + _line_of(text, start)
        if len(stages) >= 2 and stages[0].argv[0] == "echo" and stages[1].argv[0] == "bc":
            # (( $(echo "$pnl < -50" | bc -l) )): a test written for bc
            match = _BC.search(" ".join(stages[0].argv[1:]))
            if match and match.group(1) in self.producers:
                producer = self.producers[match.group(1)]
                producer.tests.append((match.group(2), float(match.group(3)), line))
                producer.alert_text = producer.alert_text or ctx.get("alert", "")
            return
        if stages:
            pipe = Pipe(stages, line, cwd=self.cwd, alert_text=ctx.get("alert", ""), in_loop=ctx.get("loop", False),
                        assigned_to=ctx.get("assign"))
            pipe.comment = self.comment_above(line)
            if ctx.get("assign"):
                self.producers[ctx["assign"]] = pipe
            first = stages[0].argv
            if first[0] == "cd" and len(stages) == 1:
                self.cwd = first[1] if len(first) > 1 else None
            self.pipes.append(pipe)
        for inner in inner_texts:
            with contextlib.suppress(bashlex.errors.ParsingError, NotImplementedError, AttributeError, TypeError, IndexError):
                self.read(inner, line, {**ctx, "inner": True})

    def assignment(self, node, text, offset, ctx) -> None:
        name, _, value = node.word.partition("=")
        subs = [p for p in (node.parts or []) if p.kind == "commandsubstitution"]
        inherited = [self.producers[v] for v in _VAR.findall(value) if v in self.producers]
        only_dates = all(_DATE.fullmatch(s) for s in _SUBST.findall(value))
        if subs and not only_dates:
            for sub in subs:
                self.node(sub.command, text, offset, {**ctx, "assign": name})
            self.variables.pop(name, None)
            if name not in self.producers and inherited:
                self.producers[name] = inherited[0]
        elif inherited:  # DAYS_LEFT=$(( (EXPIRY_EPOCH - NOW) / 86400 )) inherits openssl's pipeline
            self.producers[name] = inherited[0]
            if re.search(r"date\s+(-d|--date)", value):
                inherited[0].epoch = True
        else:
            self.variables[name] = expand(value.strip('"\''), self.variables)

    def test(self, argv: list[str], line: int, ctx) -> bool:
        """`[ $X -gt 90 ]`: the threshold belongs to the pipeline that set X."""
        if argv[0] not in ("[", "[[", "test"):
            return False
        words = [a for a in argv[1:] if a not in ("]", "]]")]
        for i, word in enumerate(words[:-1]):
            if word in ("-f", "-e", "-d", "-s", "-r"):
                self.file_tests.append(words[i + 1])
        for i, word in enumerate(words[:-2]):
            op = _TEST_OPS.get(words[i + 1])
            var = _VAR.fullmatch(word.strip('"'))
            if op and var and var.group(1) in self.producers:
                try:
                    number = float(words[i + 2].strip('"'))
                except ValueError:
                    continue
                producer = self.producers[var.group(1)]
                producer.tests.append((op, number, line))
                producer.alert_text = producer.alert_text or ctx.get("alert", "")
        return True

    def comment_above(self, line: int) -> str:
        for at in range(line - 1, max(line - 4, -1), -1):
            if at in self.comments:
                return self.comments[at]
        return ""


def _substitutions(word):
    found = []

    class V(bashlex.ast.nodevisitor):
        def visitcommandsubstitution(self, n, command):
            found.append(command)
            return False

    V().visit(word)
    return found


def _strip_expected(lines: list[str]) -> tuple[list[str], dict[int, object]]:
    """Remove "# Expected response:" JSON from a shell block; return it keyed by its line."""
    out, found = list(lines), {}
    i = 0
    while i < len(lines):
        if _EXPECTED.search(lines[i]):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and lines[j].lstrip()[:1] in "{[":
                depth, k = 0, j
                while k < len(lines):
                    depth += lines[k].count("{") + lines[k].count("[") - lines[k].count("}") - lines[k].count("]")
                    if depth <= 0:
                        break
                    k += 1
                try:
                    found[i] = json.loads("\n".join(lines[j : k + 1]))
                except ValueError:
                    found[i] = None
                for m in range(j, min(k + 1, len(lines))):
                    out[m] = ""
                i = k
        i += 1
    return out, found


def _arith(line: str) -> str:
    """`$(( (A - B) / 86400 ))` -> `"$A $B"`: bashlex has no arithmetic, the importer only needs the inputs."""
    while "$((" in line:
        start = line.index("$((")
        depth, i = 0, start + 1
        while i < len(line):
            depth += (line[i] == "(") - (line[i] == ")")
            if depth == 0:
                break
            i += 1
        refs = " ".join("$" + v for v in re.findall(r"\$?\b([A-Za-z_]\w*)\b", line[start + 3 : i - 1]) if not v.isdigit())
        line = line[:start] + f'"{refs}"' + line[i + 1 :]
    return line


def _prompts(lines: list[str]) -> list[str]:
    """A console transcript (`$ df -h` then its output): keep the commands, drop the output."""
    if not any(line.lstrip().startswith("$ ") for line in lines):
        return lines
    return [line.lstrip()[2:] if line.lstrip().startswith("$ ") else "" for line in lines]


def parse_block(text: str, variables: dict[str, str] | None = None) -> ParsedBlock:
    lines, expected = _strip_expected(_prompts(text.splitlines()))
    lines = [_arith(line) for line in lines]
    crons: list[Cron] = []
    reader = _Reader(dict(variables or {}))
    for number, line in enumerate(lines):
        stripped = line.strip()
        cron = _CRON.match(stripped)
        if cron and not stripped.startswith("#"):
            crons.append(Cron(cron.group(1), cron.group(2), number))
            lines[number] = ""
        elif stripped.startswith("#") and not stripped.startswith("#!"):
            reader.comments[number] = stripped.lstrip("# ").strip()
        elif stripped.startswith("echo ") and ">" not in stripped:
            reader.comments[number] = stripped[5:].strip("\"' ")
    unparsed: list[int] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip() or lines[i].strip().startswith("#"):
            i += 1
            continue
        for j in range(i, len(lines)):
            chunk = "\n".join(lines[i : j + 1])
            try:
                reader.read(chunk, i, {})
            except (bashlex.errors.ParsingError, NotImplementedError, AttributeError, TypeError, IndexError):
                continue
            i = j + 1
            break
        else:
            unparsed.append(i)
            i += 1
    for at, value in expected.items():
        before = [p for p in reader.pipes if p.line <= at]
        if before and value is not None:
            before[-1].expected_json = value
    reader.pipes.sort(key=lambda p: p.line)
    return ParsedBlock(reader.pipes, crons, unparsed, reader.variables, reader.file_tests)
