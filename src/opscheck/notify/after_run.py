"""After a run: compare with the suite's state file, notify the changes, remember this run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from opscheck.notify.changes import Change, compare
from opscheck.notify.message import Notice
from opscheck.notify.send import Delivery, channels, deliver_all
from opscheck.reports.run import utcnow
from opscheck.runner import state

LOG_NAME = "notifications.jsonl"


@dataclass
class Notified:
    changes: list[Change] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"notify {d.line()}" for d in self.deliveries]


def after_run(config, results: dict, reports_dir: Path, suite: str, run_state: str, report: str) -> Notified:
    path = state.state_path(reports_dir, suite)
    previous = state.load(path)
    remind_every = config.remind_every if config is not None else 0
    changes, checks = compare(previous.get("checks", {}), results, remind_every)
    outcome = Notified(changes=changes)
    run = results.get("run", {})
    work = []
    if config is not None and changes and channels(config):
        notice = Notice(
            suite=suite,
            environment=run.get("environment") or "",
            run_id=run.get("id") or "",
            state=run_state,
            counts=run.get("counts") or {},
            report=report,
            changes=tuple(changes),
        )
        work += [(label, sender, channel, notice) for label, sender, channel in channels(config)]
    if config is not None and config.alertmanager:
        # State, not changes: every run renews what fires and resolves what recovered.
        from opscheck.notify import alertmanager

        for i, channel in enumerate(config.alertmanager):
            batch = alertmanager.build(results, previous.get("checks", {}), suite, report, channel.valid_for)
            if batch.alerts:
                work.append((f"alertmanager:{channel.name or i + 1}", alertmanager, channel, batch))
    if work:
        outcome.deliveries = deliver_all(config, work)
    record = {
        "run": run.get("id"),
        "at": utcnow().isoformat(timespec="seconds"),
        "changes": [c.to_dict() for c in changes],
        "deliveries": [d.to_dict() for d in outcome.deliveries],
    }
    state.save(
        path,
        {"suite": suite, "runs": int(previous.get("runs", 0)) + 1, "last_run": run.get("id"), "checks": checks, "last_notification": record},
    )
    if outcome.deliveries:
        # The run folder is sealed by its manifest, so the notification record lives beside the state.
        with open(path.with_name(f"{suite}.{LOG_NAME}"), "a") as log:
            log.write(json.dumps(record, sort_keys=True) + "\n")
    return outcome
