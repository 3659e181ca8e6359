"""The controller's precheck reports read as text: JUnit's system-out and
the host's log give a check's evidence as "key: value" lines, never a
Python repr."""

from __future__ import annotations

import xml.dom.minidom

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import detail_items, render_log
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import precheck_report

DETAILS = {"services": {"docker": "active", "nginx": "inactive"}, "missing": ["nginx", "git"], "commands": 7,
           "stderr": "line one\nline two", "empty": [], "tls": {"ok": True}, "disks": [{"path": "/", "free_gb": 3.5}]}
RESULT = {"number": 2, "name": "services", "status": "FAIL", "severity": "error", "duration_ms": 12,
          "msg": "nginx is inactive", "hint": "systemctl start nginx", "details": DETAILS,
          "override": {"skip": "-e '{\"precheck_skip\": [\"services\"]}'",
                       "warn_only": "-e '{\"precheck_warn_only\": [\"services\"]}'"}}
SUMMARY = {"total": 1, "failed": 1, "skipped": 0, "passed": 0, "warned": 0, "ok": False}


def system_out(junit):
    [node] = xml.dom.minidom.parseString(junit).getElementsByTagName("system-out")
    return node.firstChild.data.splitlines()


def test_detail_items_flatten_nested_evidence_without_reprs():
    assert detail_items(DETAILS) == [
        ("commands", "7"), ("disks.1.free_gb", "3.5"), ("disks.1.path", "/"), ("empty", "(none)"),
        ("missing", "nginx, git"), ("services.docker", "active"), ("services.nginx", "inactive"),
        ("stderr", "line one\nline two"), ("tls.ok", "yes")]


def test_junit_system_out_is_key_value_lines():
    lines = system_out(precheck_report.to_junit("vps1", "r1", [RESULT], SUMMARY))
    assert "services.docker: active" in lines and "services.nginx: inactive" in lines
    assert "missing: nginx, git" in lines
    # A value of several lines continues below its key.
    at = lines.index("stderr: line one")
    assert lines[at + 1] == "    line two"
    text = "\n".join(lines)
    assert "{" not in text and "[" not in text and "'" not in text, text


def test_junit_failure_holds_the_message_and_the_fix():
    doc = xml.dom.minidom.parseString(precheck_report.to_junit("vps1", "r1", [RESULT], SUMMARY))
    [failure] = doc.getElementsByTagName("failure")
    assert failure.getAttribute("message") == "nginx is inactive"
    assert failure.firstChild.data.splitlines()[0] == "fix: systemctl start nginx"


def test_host_log_gives_the_evidence_as_text():
    log = render_log([RESULT], "run r1")
    assert "     services.docker: active" in log and "     missing: nginx, git" in log
    assert "{'docker'" not in log
