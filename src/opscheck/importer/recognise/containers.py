"""Docker: `docker compose ps` (running, health), `docker stats` (CPU, memory), `docker logs --since`."""

from __future__ import annotations

from opscheck.importer.recognise import Ctx, positionals
from opscheck.importer.recognise.logs import container_logs
from opscheck.importer.shell import Pipe

_PROJECT_NOTE = "PLACEHOLDER: the Compose project (the directory name docker compose ran in, or its -p name)"
_ALL_NOTE = ("PLACEHOLDER: the runbook watches every container of the engine; opscheck checks a selection: "
             "the Compose project, or names: / labels: instead")
_RESTARTS_NOTE = "REVIEW: restarts use opscheck's defaults (WARN above 1, CRIT above 5 since the previous run), not the runbook's"


def _selector(argv: list[str], compose: bool, names: list[str], project: str | None = None) -> tuple[dict, list[str]]:
    """The containers: model needs a selection; with none in the runbook, the project is a placeholder.

    No name: is drafted: the check id is then the selection, distinct for every entry.
    """
    if names and not compose:
        return {"names": names}, []
    services = {"services": names} if names else {}  # compose names services, not containers
    if project and "$" not in project:
        return {"compose_project": project, **services}, []
    return {"compose_project": "PLACEHOLDER-project", **services}, [_PROJECT_NOTE if compose else _ALL_NOTE]


def _target(selector: dict) -> str:
    """What the draft checks, for merging the runbook's repeats: the names, services or project."""
    chosen = selector.get("names") or selector.get("services")
    project = selector.get("compose_project", "")
    return ",".join(chosen) if chosen else project if not project.startswith("PLACEHOLDER") else "containers"


def docker(pipe: Pipe, ctx: Ctx, compose: bool = False):
    argv = pipe.main.argv
    words = argv[1:]
    if not compose and words[:1] == ["compose"]:
        words, compose = words[1:], True
    project = None
    while compose and words and words[0] in ("-p", "--project-name", "-f", "--file") and len(words) > 1:
        project = words[1] if words[0] in ("-p", "--project-name") else project
        words = words[2:]
    if not words:
        return None
    verb = words[0]
    if verb in ("ps", "top") or (verb == "container" and words[1:2] == ["ls"]):
        services = positionals(["docker", *words[1:]], ("--format", "--filter", "--status")) if compose else []
        selector, notes = _selector(argv, compose, services, project)
        entry = {**selector, "health": True}
        return [ctx.draft("containers", "containers.running", _target(selector), entry, notes=notes + [_RESTARTS_NOTE])]
    if verb == "stats":
        names = [n for n in positionals(["docker", *words[1:]], ("--format",))]
        selector, notes = _selector(argv, compose, names, project)
        entry = {**selector, "cpu": {"warn": "80%", "crit": "95%"}, "memory": {"warn": "80%", "crit": "95%"}}
        return [ctx.draft("containers", "containers.stats", _target(selector), entry,
                          notes=notes + ["REVIEW: the runbook watches docker stats without limits; 80%/95% are suggestions"])]
    if verb == "logs":
        return container_logs(pipe, ctx, ["logs", *words[1:]])
    if verb == "inspect" and any("Health" in w for w in words):
        names = positionals(["docker", *words[1:]], ("--format", "-f"))
        selector, notes = _selector(argv, compose, names, project)
        return [ctx.draft("containers", "containers.health", _target(selector),
                          {**selector, "health": True}, notes=notes)]
    return None


def docker_compose(pipe: Pipe, ctx: Ctx):
    return docker(pipe, ctx, compose=True)


COMMANDS = {"docker": docker, "docker-compose": docker_compose}
