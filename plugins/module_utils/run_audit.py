# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The audit options every state-touching module of the collection shares,
and the one function that writes a module's records.

``audit_events`` lets a play attach records decided on the controller (an
operator's skip, a gate waiver) to the next module that touches the host, so
auditing a controller-side decision costs no extra round trip.
"""

from __future__ import annotations

import re

from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import AuditLog

# No default directory: the one home of host paths is role launch_context
# (nexus_audit_dir), which the plays pass. Documented by doc fragment
# nexus_cos.launch.host_paths (AUDIT_PATHS).
AUDIT_PATHS_ARGUMENT_SPEC = dict(
    audit_dir=dict(type="path"),
    audit_file=dict(type="str"),
    run_id=dict(type="str"),
)

# The option set of action group nexus_cos.launch.host_paths (meta/runtime.yml):
# every module of the group merges it into its argument spec, so a play's
# module_defaults for the group never names an option a member refuses.
# Documented by doc fragment nexus_cos.launch.host_paths.
HOST_PATHS_ARGUMENT_SPEC = dict(
    lock_path=dict(type="path"),
    **AUDIT_PATHS_ARGUMENT_SPEC
)

# Documented by doc fragments nexus_cos.launch.host_paths (AUDIT_PATHS) and nexus_cos.launch.audit.
AUDIT_ARGUMENT_SPEC = dict(
    audit_events=dict(type="list", elements="dict", default=[]),
    **AUDIT_PATHS_ARGUMENT_SPEC
)

FILE_NAME = re.compile(r"^(deployment|rollback|activation)-[0-9TZ]+\.log$")


class AuditOptionsError(ValueError):
    pass


def open_audit(params):
    """AuditLog for the module's params, or None when auditing is off (no
    audit_file given)."""
    if not params.get("audit_file"):
        return None
    name = params["audit_file"]
    if not FILE_NAME.match(name):
        raise AuditOptionsError("audit_file %r: expected deployment-, rollback- or activation-<UTC stamp>.log" % name)
    if not params.get("run_id"):
        raise AuditOptionsError("run_id is required when audit_file is set")
    if not params.get("audit_dir"):
        raise AuditOptionsError("audit_dir is required when audit_file is set (the plays pass nexus_audit_dir)")
    return AuditLog(params["audit_dir"], params["run_id"], name)


def extra_events(params):
    """The play's ``audit_events`` as (event, fields) pairs, validated."""
    out = []
    for index, item in enumerate(params.get("audit_events") or []):
        if not isinstance(item, dict) or "event" not in item:
            raise AuditOptionsError("audit_events[%d]: expected {event: NAME, fields: {...}}, got %r" % (index, item))
        fields = item.get("fields") or {}
        if not isinstance(fields, dict):
            raise AuditOptionsError("audit_events[%d].fields: expected a mapping" % index)
        out.append((str(item["event"]), dict(fields)))
    return out


def write(log, events):
    """Append (event, fields) records; returns the chain head after them."""
    if log is None or not events:
        return None
    written = log.records(events)
    return written[-1] if written else None
