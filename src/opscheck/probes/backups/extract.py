"""Quarterly drill: extract the newest config tarball and check the files a rebuild needs.

The runbook's disaster-recovery step "untar the config backup, check that `.env` and
`nginx.conf` are there". It runs on the backup's host, into a `mktemp -d` directory that
is removed afterwards (also on timeout): the drill's only writes are to that scratch.
"""

from __future__ import annotations

import shlex

from opscheck.errors import Unmeasurable
from opscheck.host import run
from opscheck.measurement import Measurement, Target
from opscheck.probes.backups.integrity import member_matches
from opscheck.probes.backups.listing import Clock, newest

_DRILL = (
    "d=$(mktemp -d \"${{TMPDIR:-/tmp}}/opscheck-extract.XXXXXX\") || exit 97; "
    "trap 'rm -rf \"$d\"' EXIT; trap 'rm -rf \"$d\"; exit 124' INT TERM; "
    "tar -xf {archive} -C \"$d\" --no-same-owner --no-same-permissions 2>&1 || exit 98; "
    "cd \"$d\" && find . -type f -printf '%s\\t%P\\0'"
)


def probe_extract(target: Target) -> Measurement:
    item = target.spec
    required = item.extract.required or item.required_members
    clock = Clock(target.timeout)
    latest, _ = newest(target, clock.left())
    result = run(target.host, _DRILL.format(archive=shlex.quote(latest.path)), clock.left())
    if result.rc == 97:
        raise Unmeasurable(f"cannot create a temporary directory: {result.stderr.strip()[:200]}")
    if result.rc == 127:
        raise Unmeasurable("tar is not installed")
    if result.rc != 0:
        reason = "; ".join(line for line in result.stdout.splitlines()[:4] if line.strip()) or result.stderr.strip()[:300]
        return Measurement(subject=f"extract {latest.name}", problems=(f"extraction failed: {reason or f'exit {result.rc}'}",),
                           evidence={"file": latest.path, "rc": result.rc})
    files = {}
    for record in result.stdout.split("\0"):
        size, _, name = record.strip("\n").partition("\t")
        if name:
            files[name] = int(size)
    found, problems = {}, []
    for wanted in required:
        matches = [(name, size) for name, size in files.items() if member_matches(wanted, name)]
        if not matches:
            problems.append(f"{wanted} missing")
        elif all(size == 0 for _, size in matches):
            problems.append(f"{wanted} is empty ({matches[0][0]})")
        found[wanted] = [name for name, _ in matches][:5]
    evidence = {"file": latest.path, "extracted_files": len(files), "required": found,
                "extracted_bytes": sum(files.values())}
    subject = f"extract {latest.name}: {len(files)} files"
    if problems:
        return Measurement(subject=subject, evidence=evidence,
                           problems=(f"required files {', '.join(problems)}",))
    return Measurement(subject=f"{subject}, {', '.join(required) or 'nothing'} present", evidence=evidence)


