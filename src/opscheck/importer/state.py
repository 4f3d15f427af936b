"""Commands that change what they touch: never turned into checks, listed for the reviewer."""

from __future__ import annotations

import re

from opscheck.importer.shell import Pipe, Stage
from opscheck.inventory import sqlguard

_ALWAYS = {
    "rm", "rmdir", "mv", "cp", "rsync", "mkdir", "touch", "chmod", "chown", "chgrp", "ln", "kill", "pkill", "killall",
    "reboot", "shutdown", "halt", "poweroff", "dd", "truncate", "shred", "tee", "sysctl", "ulimit", "mount", "umount",
    "useradd", "userdel", "usermod", "passwd", "iptables", "ufw-enable", "crontab-e", "mail", "mailx", "sendmail",
    "gzip", "bzip2", "xz", "zstd", "logrotate", "certbot", "git", "sed-i", "swapoff", "swapon", "service-restart",
    "pm2", "supervisorctl", "nginx-s", "fallocate", "wget", "scp", "aws", "gsutil", "rclone", "make", "patch",
    "pg_restore", "mongorestore", "createdb", "dropdb", "vacuumdb", "reindexdb", "pg_ctl", "pg_ctlcluster", "k6",
}
_VERBS = {  # tool -> subcommands that change state
    "systemctl": {"start", "stop", "restart", "reload", "enable", "disable", "mask", "unmask", "kill", "daemon-reload", "reset-failed"},
    "service": {"start", "stop", "restart", "reload"},
    "docker": {"run", "start", "stop", "restart", "rm", "rmi", "kill", "pull", "push", "build", "prune", "system",
               "volume", "network", "image", "create", "exec", "update", "pause", "unpause", "cp", "commit", "tag", "login"},
    "docker-compose": {"up", "down", "start", "stop", "restart", "rm", "build", "pull", "push", "kill", "run", "create",
                       "pause", "unpause", "scale"},
    "apt": {"install", "upgrade", "update", "remove", "purge", "autoremove", "dist-upgrade", "full-upgrade"},
    "apt-get": {"install", "upgrade", "update", "remove", "purge", "autoremove", "dist-upgrade"},
    "yum": {"install", "update", "upgrade", "remove"}, "dnf": {"install", "update", "upgrade", "remove"},
    "npm": {"install", "i", "update", "ci", "uninstall", "run", "start", "publish", "prune", "dedupe"},
    "pnpm": {"install", "i", "update", "add", "remove", "build", "run", "publish", "prune"},
    "yarn": {"install", "add", "upgrade", "remove", "build", "run", "publish"},
    "pip": {"install", "uninstall"}, "pip3": {"install", "uninstall"},
    "kubectl": {"apply", "delete", "rollout", "scale", "edit", "patch", "create", "drain", "cordon", "exec"},
    "crontab": {"-e", "-r"},
}
# Subcommands of a project's own script (./run.sh restart) that act rather than look.
_ACTION_WORDS = {"start", "stop", "restart", "reload", "deploy", "kill", "clean", "cleanup", "reset", "update", "upgrade",
                 "install", "migrate", "rollback", "restore", "backup", "build", "flush", "purge", "prune", "delete",
                 "remove", "rotate", "renew", "up", "down", "scale", "drop", "truncate", "seed", "pre-update"}
_REDIS_WRITES = {"flushall", "flushdb", "del", "set", "config", "bgsave", "save", "shutdown", "bgrewriteaof", "debug",
                 "script", "expire", "rename", "hset", "lpush", "rpush", "sadd", "zadd", "incr", "decr", "client",
                 "replicaof", "slaveof", "failover", "cluster", "module", "acl", "migrate", "restore", "lpop", "rpop"}
_SQL_WRITE = re.compile(r"\b(insert|update|delete|drop|truncate|alter|create|grant|revoke|vacuum|reindex|cluster|"
                        r"copy|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|set|reset|lock|refresh|call|do)\b", re.I)
_HTTP_WRITE = {"POST", "PUT", "DELETE", "PATCH"}


def _name(argv: list[str]) -> str:
    return argv[0].rsplit("/", 1)[-1]


def stage_reason(stage: Stage) -> str | None:
    argv = stage.argv
    name = _name(argv)
    rest = argv[1:]
    sub = next((a for a in rest if not a.startswith("-")), "")
    if name in _ALWAYS:
        if name == "gzip" and ("-t" in rest or "-l" in rest or "-c" in rest):
            return None
        return f"{name} changes files, processes or sends mail"
    if name in ("sed", "perl") and any(a.startswith("-i") for a in rest):
        return f"{name} -i edits files"
    if name == "docker" and sub == "compose":
        return stage_reason(Stage(["docker-compose", *rest[1:]]))
    if name == "crontab" and "-e" in rest:
        return "crontab -e edits the crontab"
    verbs = _VERBS.get(name)
    if verbs and (sub in verbs or any(a in verbs for a in rest[:1])):
        return f"{name} {sub} changes state"
    if name == "crontab" and "-e" in rest:
        return "crontab -e edits the crontab"
    if name == "redis-cli":
        words = [a for a in rest if not a.startswith("-")]
        if "--rdb" in rest:
            return "redis-cli --rdb writes a dump file"
        for i, word in enumerate(words):
            if word.lower() in _REDIS_WRITES and not (word.lower() == "config" and words[i + 1 : i + 2] == ["GET"]):
                return f"redis-cli {word} changes the server"
    if name == "psql":
        for sql in _sql_args(argv):
            why = sqlguard.problem(sql.strip().rstrip(";"))
            if why:
                return f"SQL refused by opscheck's guard: {why}"
    if name == "mysql" and _SQL_WRITE.search(" ".join(_sql_args(argv))):
        return f"{name} runs SQL that writes"
    if name == "curl":
        method = _curl_method(argv)
        if method in _HTTP_WRITE:
            return f"curl -X {method} acts on the service"
    if name == "find" and ("-delete" in rest or any(a in ("rm", "mv", "cp", "gzip") for a in rest)):
        return "find … -delete/-exec changes files"
    if name == "tar" and rest and re.match(r"^-?[A-Za-z]*[cxr]", rest[0]) and "t" not in rest[0]:
        return "tar creates or extracts files"
    if name in ("echo", "printf", "cat") and any(t[0] in (">", ">>") and not t[1].startswith("/dev/") for t in stage.redirects):
        return f"{name} > FILE writes a file"
    if name in ("certbot",):
        return "certbot changes certificates"
    script = argv[0].startswith(("./", "/")) or argv[0].endswith(".sh")
    if script and (sub.lower() in _ACTION_WORDS or any(w in _name(argv).lower() for w in ("backup", "deploy", "restart", "update"))):
        return f"{_name(argv)} {sub} acts rather than looks"
    return None


def _sql_args(argv: list[str]) -> list[str]:
    out = []
    for i, a in enumerate(argv):
        if a in ("-c", "--command", "-e") and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif a.startswith("--command="):
            out.append(a.split("=", 1)[1])
    return out


def _curl_method(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a in ("-X", "--request") and i + 1 < len(argv):
            return argv[i + 1].upper()
        if a.startswith("-X") and len(a) > 2:
            return a[2:].upper()
    if any(a in ("-d", "--data", "--data-raw", "--data-binary", "-F", "--form", "--json") for a in argv):
        return "POST"
    if "-I" in argv or "--head" in argv:
        return "HEAD"
    return "GET"


def reason(pipe: Pipe) -> str | None:
    for stage in pipe.stages:
        why = stage_reason(stage)
        if why:
            return why
    return None
