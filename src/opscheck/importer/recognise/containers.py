"""Docker: `docker compose ps` (running, health), `docker stats` (CPU, memory), `docker logs --since`."""

from __future__ import annotations

from opscheck.importer.recognise import Ctx, positionals
from opscheck.importer.recognise.logs import container_logs
from opscheck.importer.shell import Pipe

_PROJECT_NOTE = "PLACEHOLDER: the Compose project (the directory name docker compose ran in, or its -p name)"


def _selector(argv: list[str], compose: bool, names: list[str]) -> tuple[dict, list[str]]:
    if names:
        return {"names": names}, []
    if compose:
        return {"compose_project": "PLACEHOLDER-project"}, [_PROJECT_NOTE]
    return {}, ["REVIEW: every container of the engine is checked; narrow with names:, labels: or compose_project:"]


def docker(pipe: Pipe, ctx: Ctx, compose: bool = False):
    argv = pipe.main.argv
    words = argv[1:]
    if not compose and words[:1] == ["compose"]:
        words, compose = words[1:], True
    if not words:
        return None
    verb = words[0]
    if verb in ("ps", "top") or (verb == "container" and words[1:2] == ["ls"]):
        selector, notes = _selector(argv, compose, [])
        entry = {"name": "containers", **selector, "health": True, "restarts": {"warn": 1, "crit": 5}}
        return [ctx.draft("containers", "containers.running", "containers", entry, notes=notes +
                          ["REVIEW: restarts warn 1 / crit 5 is the contract's example, not the runbook's"])]
    if verb == "stats":
        names = [n for n in positionals(["docker", *words[1:]], ("--format",))]
        selector, notes = _selector(argv, compose, names)
        entry = {"name": "containers", **selector, "cpu": {"warn": "80%", "crit": "95%"}, "memory": {"warn": "80%", "crit": "95%"}}
        return [ctx.draft("containers", "containers.stats", names[0] if names else "containers", entry,
                          notes=notes + ["REVIEW: the runbook watches docker stats without limits; 80%/95% are suggestions"])]
    if verb == "logs":
        return container_logs(pipe, ctx, ["logs", *words[1:]])
    if verb == "inspect" and any("Health" in w for w in words):
        names = positionals(["docker", *words[1:]], ("--format", "-f"))
        selector, notes = _selector(argv, compose, names)
        return [ctx.draft("containers", "containers.health", names[0] if names else "containers",
                          {"name": "containers", **selector, "health": True}, notes=notes)]
    return None


def docker_compose(pipe: Pipe, ctx: Ctx):
    return docker(pipe, ctx, compose=True)


COMMANDS = {"docker": docker, "docker-compose": docker_compose}
