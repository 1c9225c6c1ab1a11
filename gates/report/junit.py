"""JUnit XML, built from the same gate rows as the comment (escaped for ``XML``), so a gate
reads the same in a CI system's test report as in the pull request.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from ..escape import xml_text
from ..result import Result
from .media import XML
from .rows import gate_rows


def render_junit(result: Result) -> str:
    """One test case per gate, so CI systems that read JUnit show gates as tests."""
    rows = gate_rows(result.gates, result.alpha, XML, resamples=result.resamples)
    failures = sum(1 for r in rows if r.state in ("fail", "undefined", "inconclusive"))
    skipped = sum(1 for r in rows if r.state == "skipped")
    root = ET.Element("testsuites", name="mlgate", tests=str(len(rows)), failures=str(failures), errors="0",
                      skipped=str(skipped))
    suite = ET.SubElement(root, "testsuite", name="mlgate", tests=str(len(rows)), failures=str(failures),
                          errors="0", skipped=str(skipped), time="0")
    props = ET.SubElement(suite, "properties")
    facts = {"decision": result.decision.decision, "overridden": "yes" if result.overridden else "no",
             "alpha": f"{result.alpha:g}", "candidate_sha256": result.candidate["sha256"],
             "production_sha256": result.production["sha256"] if result.production else "none",
             "data_sha256": result.data["sha256"] or "not read", "config_sha256": result.config_sha256,
             "mlgate_version": result.mlgate_version}
    facts = {name: xml_text(value) for name, value in facts.items()}  # SHA-256s from a registry are its text
    for name, value in facts.items():
        ET.SubElement(props, "property", name=name, value=value)
    for g, r in zip(result.gates, rows):
        case = ET.SubElement(suite, "testcase", classname=xml_text(f"mlgate.{g.metric}"), name=r.name, time="0")
        if r.state == "skipped":
            ET.SubElement(case, "skipped", message=r.detail)
        elif r.state in ("fail", "undefined", "inconclusive"):
            ET.SubElement(case, "failure", message=r.detail, type=r.state).text = r.detail
        out = ET.SubElement(case, "system-out")
        out.text = (f"rule: {r.rule}\nproduction: {r.production}\ncandidate: {r.candidate}\nΔ: {r.difference}\n"
                    f"interval: {r.interval}\np: {r.p_value}\nmethod: {r.method}\nresult: {r.state}\n{r.detail}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
