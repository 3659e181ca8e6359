# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 1: the operating system, privileges and required commands."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register


def parse_os_release(text):
    out = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def version_tuple(value):
    parts = []
    for piece in str(value).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@register
class SystemCheck(Check):
    name = "system"
    number = 1
    title = "System"

    def run(self, ctx):
        host = ctx.host
        release = parse_os_release(host.read_text("/etc/os-release"))
        os_id = release.get("ID", "unknown")
        version = release.get("VERSION_ID", "")
        supported = ctx.param("supported_os")  # {id: minimum version}
        evidence = {"os": "%s %s" % (os_id, version or "?"),
                    "pretty_name": release.get("PRETTY_NAME", "")}
        if os_id not in supported:
            raise CheckFailed(
                "unsupported OS %s %s; expected one of: %s" % (
                    os_id, version, ", ".join("%s >= %s" % kv for kv in sorted(supported.items()))),
                hint="run the launch on a supported OS, or add it to precheck_system_supported_os",
                details=evidence)
        minimum = str(supported[os_id])
        if version_tuple(version) < version_tuple(minimum):
            raise CheckFailed(
                "%s %s is older than the supported minimum %s" % (os_id, version, minimum),
                hint="upgrade the host or lower precheck_system_supported_os.%s" % os_id,
                details=evidence)
        if host.euid() != 0:
            raise CheckFailed(
                "not running as root (euid %d); the launch writes /var/log and /opt" % host.euid(),
                hint="enable become (become: true, and a sudo password if needed: -K)",
                details=evidence)
        missing = [cmd for cmd in ctx.param("required_commands") if host.which(cmd) is None]
        evidence["commands"] = len(ctx.param("required_commands"))
        if missing:
            raise CheckFailed(
                "required command(s) not found: %s" % ", ".join(missing),
                hint="install them (apt-get install ...) or remove them from precheck_system_required_commands",
                details=dict(evidence, missing=missing))
        # The PF files are YAML: without PyYAML the launch cannot read or set them.
        if not host.python_module("yaml"):
            raise CheckFailed(
                "the host's python3 lacks %s, which reads and writes the PF files" % documents.YAML_LIBRARY,
                hint=documents.YAML_INSTALL, details=dict(evidence, missing=[documents.YAML_LIBRARY]))
        evidence["summary"] = "%s, root, %d commands present, %s" % (
            evidence["pretty_name"] or evidence["os"], evidence["commands"], documents.YAML_LIBRARY)
        return evidence
