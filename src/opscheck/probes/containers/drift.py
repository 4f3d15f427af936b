"""Image drift: a container runs another image than its tag names now (a deploy not rolled out).

`image_drift: true` compares the running image with what the tag points to on the
same engine (pulled, not yet recreated); `image_drift: registry` asks the registry
for the tag's current digest (the engine's distribution endpoint, a GET) and compares
it with the running image's repo digests. Both are read-only.
"""

from __future__ import annotations

from docker.errors import APIError, NotFound

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.probes.containers.engine import engine, name_of, select


def _row(api, info: dict, registry: bool) -> dict:
    tag = (info.get("Config") or {}).get("Image", "")
    running = info.get("Image", "")
    row = {"name": name_of(info), "tag": tag, "running_image": running[:19], "tag_image": None, "drift": False}
    if tag.startswith("sha256:") or "@sha256:" in tag:
        row["note"] = "started by digest: cannot drift"
        return row
    try:
        current = api.inspect_image(tag)
    except NotFound:
        current = None
    if current is not None:
        row["tag_image"] = current["Id"][:19]
        row["drift"] = current["Id"] != running
    if registry:
        try:
            remote = api.inspect_distribution(tag)["Descriptor"]["digest"]
        except APIError as exc:
            raise Unmeasurable(f"registry digest of {tag} ({row['name']}): {exc.explanation or exc}") from None
        pinned = api.inspect_image(running).get("RepoDigests") or []
        row["registry_digest"] = remote
        row["drift"] = not any(d.endswith("@" + remote) for d in pinned)
    elif current is None:
        raise Unmeasurable(f"the tag {tag} of {row['name']} is no longer on the engine: cannot compare")
    return row


def probe_drift(target: Target) -> Measurement:
    registry = target.spec.image_drift == "registry"
    with engine(target) as client:
        found = select(client, target.spec)
        running = [c for c in found.containers if (c.get("State") or {}).get("Status") == "running"]
        if not running:
            raise Unmeasurable(f"no running container of {target.spec.selection()} to compare")
        rows = [_row(client.api, info, registry) for info in running]
    against = "the registry's digest" if registry else "the engine's tag"
    drifted = [f"{r['name']} runs {r['running_image']}, {r['tag']} is now {r.get('registry_digest') or r['tag_image']}" for r in rows if r["drift"]]
    return Measurement(
        value=len(drifted), subject=target.spec.selection(), label=f"of {len(rows)} drifted from {against}",
        evidence={"containers": rows}, warnings=tuple(drifted),
    )
