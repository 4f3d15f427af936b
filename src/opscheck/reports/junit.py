"""junit.xml for CI: pytest's own file, completed with each check's verdict and redacted.

pytest's junitxml already carries the `verdict` and `severity` user properties;
this adds the summary and value as properties and makes WARN visible in
`system-out` (a WARN passes, and CI servers show nothing of a bare pass).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from opscheck.redact import redact
from opscheck.reports.folder import write_atomic
from opscheck.reports.run import Run

FILENAME = "junit.xml"


def write(run: Run, folder: Path) -> Path | None:
    path = folder / FILENAME
    if not path.exists():
        return None
    tree = ET.parse(path)
    root = tree.getroot()
    records = {junit_key(c["id"]): c for c in run.checks}
    for suite in root.iter("testsuite"):
        suite.set("name", f"opscheck {run.suite} ({run.environment})")
    for case in root.iter("testcase"):
        record = records.get((case.get("classname", ""), case.get("name", "")))
        if record is not None:
            _complete(case, record)
    for element in root.iter():
        element.text = redact(element.text) if element.text else element.text
        element.tail = redact(element.tail) if element.tail else element.tail
        for key, value in element.attrib.items():
            element.set(key, redact(value))
    write_atomic(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path


def junit_key(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest's junitxml derives them from a test id."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _complete(case: ET.Element, record: dict) -> None:
    properties = case.find("properties")
    if properties is None:
        properties = ET.Element("properties")
        case.insert(0, properties)
    present = {p.get("name") for p in properties}
    extra = {"summary": record.get("summary"), "value": record.get("value"), "unit": record.get("unit"), "target": record.get("target")}
    extra["title"] = record.get("title")
    extra["description"] = record.get("description")
    for tag, reference in (record.get("tags") or {}).items():
        extra[f"tag.{tag}"] = reference or "yes"
    if record.get("waiver"):
        extra["waiver"] = f"{record['waiver'].get('status')}: {record['waiver'].get('id')}"
    for name, value in extra.items():
        if name not in present and value not in (None, ""):
            ET.SubElement(properties, "property", name=name, value=str(value))
    if record["verdict"] == "WARN":
        out = case.find("system-out")
        if out is None:
            out = ET.SubElement(case, "system-out")
        out.text = f"WARN: {record.get('summary')}\n" + (out.text or "")
