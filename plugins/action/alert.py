# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""One event to every channel of the inventory's nexus_alert_channels, sent
from the controller (plugin_utils/alerts.py), then ALERT_SENT or
ALERT_FAILED audited on the host (module audit_record), channel names and
reasons only.

Never fails the run and never waits past each channel's timeout: a channel
that fails, unusable definitions, a record that cannot be written are all
returned in ``lines`` for the play to show (the task runs with no_log, as
its arguments hold the channels' URLs and tokens). No channels: nothing is
sent, nothing audited, one line."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import alerts, host_records


class ActionModule(ActionBase):

    _supports_check_mode = True
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("channels", "event", "level", "text", "details", "switch", "host", "run_id",
                             "audit_dir", "audit_file"))

    # Unit tests give their own sender.
    _sender = staticmethod(alerts.send_all)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        kind = args.get("event")
        result.update(changed=False, event=kind, results=[], problem=None)
        try:
            payload = _payload(args)
        except ValueError as exc:
            # Returned, not failed: the task runs with no_log, and an alert never stops the run.
            result.update(problem=str(exc), lines=["alert %s NOT sent: %s; the run goes on" % (kind, exc)])
            return result
        result.update(level=payload["level"], severity=payload["severity"], payload=payload)
        if self._task.check_mode:
            result["lines"] = ["alert %s: not sent in check mode" % kind]
            return result
        results, problem = alerts.deliver(args.get("channels"), payload, sender=self._sender)
        result.update(results=results, problem=problem, lines=alerts.report(kind, results, problem, payload=payload))
        if results or problem:
            head, error = host_records.write(
                lambda name, module_args: self._execute_module(module_name=name, module_args=module_args,
                                                               task_vars=task_vars),
                args, alerts.audit_events(kind, results, problem, payload=payload))
            if head:
                result["audit_head"] = head
            if error:
                result["lines"].append("AUDIT RECORD NOT WRITTEN: %s" % error)
        return result


def _payload(args):
    """The event the task's arguments describe; ValueError naming the
    argument."""
    kind = args.get("event")
    if kind not in alerts.EVENTS:
        raise ValueError("event %r: expected one of %s" % (kind, ", ".join(alerts.EVENTS)))
    level = args.get("level") or "info"
    if level not in alerts.LEVELS:
        raise ValueError("level %r: expected one of %s" % (level, ", ".join(alerts.LEVELS)))
    details = args.get("details") or {}
    if not isinstance(details, dict):
        raise ValueError("details: expected a mapping, found %s" % type(details).__name__)
    host, run_id = args.get("host"), args.get("run_id")
    if kind == "kill_switch" and args.get("switch"):
        return alerts.switch_event(args["switch"], reason=details.get("reason", ""), host=host, run_id=run_id)
    if not args.get("text"):
        raise ValueError("text is empty; expected what happened, in words")
    return alerts.event(kind, level, str(args["text"]), host=host, run_id=run_id, details=details)
