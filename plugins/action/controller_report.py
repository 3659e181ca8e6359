# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Writes run reports on the controller (summary, exported audit chain
heads) without a round trip to the host, atomically. A file whose content
changed is reported as a change; the plays mark the task
changed_when: false, as reports are records of a run, not configuration.

It also hands back the run's stats (``stats``) as ``ansible_stats``, which
the strategy applies from any task's result, as it does set_stats': the
finish role publishes them here rather than in a task of their own, as
every task a host runs costs the run controller time.

``launch_report`` writes the run's launch report: its data (picked field by
field from the results given, plugin_utils/launch_report.py) laid over the
data already stored for that report, as PATH's stem .json, and the page
rendered from it at PATH (.html). A later part of a run (the guard) adds its
section to the same report that way."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import launch_report, pinned_vars

# What launch_report takes besides its path: launch_report.report_data's parts.
REPORT_PARTS = launch_report.PARTS


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        pinned_vars.refuse_extra_vars(self)  # also when launch_context's check was skipped by tag
        files = self._task.args.get("files") or {}
        report = self._task.args.get("launch_report")
        if not isinstance(files, dict) or not (files or report):
            raise AnsibleActionFail("controller_report: 'files' must be a mapping of path to content")
        stats = _stats(self._task.args.get("stats"))     # checked before anything is written
        if report:
            files = dict(files)
            files.update(_launch_report_files(report))
        written, changed = [], False
        for path, content in files.items():
            path = to_text(path)
            if "{{" in path:
                # Mapping keys are not templated; a key with a template in it
                # would become a directory named after the template.
                raise AnsibleActionFail("controller_report: file name %r is an untemplated expression; "
                                        "build the mapping in an expression instead" % path)
            path = os.path.abspath(os.path.expanduser(path))
            content = to_text(content)
            if _same(path, content):
                continue
            changed = True
            if self._task.check_mode:
                continue
            try:
                os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
                write_atomic(path, content, mode=0o640)
            except OSError as exc:
                raise AnsibleActionFail("controller_report: could not write %s: %s" % (path, exc))
            written.append(path)
        result.update(changed=changed, written=written)
        if stats:
            # Run-wide and merged host by host, as set_stats(per_host=false,
            # aggregate=true): each host adds its entry under one key.
            result["ansible_stats"] = {"data": stats, "per_host": False, "aggregate": True}
        return result


def _stats(stats):
    """The ``stats`` argument checked: None or a mapping of variable names,
    as a workflow's next node receives them as extra vars."""
    if stats is None:
        return {}
    if not isinstance(stats, dict):
        raise AnsibleActionFail("controller_report: 'stats' must be a mapping of stat name to value, got %s"
                                % type(stats).__name__)
    for name in stats:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise AnsibleActionFail("controller_report: stat name %r in 'stats' is not a variable name "
                                    "(letters, digits and underscores, not starting with a digit or an underscore)" % (name,))
    return stats


def _launch_report_files(report):
    """{PATH.json: data, PATH.html: page} of option launch_report, the data
    laid over what PATH.json holds already."""
    if not isinstance(report, dict) or not isinstance(report.get("path"), str) or not report["path"].endswith(".html"):
        raise AnsibleActionFail("controller_report: launch_report must be a mapping with path (the report's file, "
                                "ending in .html) and the run's results (%s)" % ", ".join(REPORT_PARTS))
    unknown = sorted(set(report) - set(REPORT_PARTS) - {"path"})
    if unknown:
        raise AnsibleActionFail("controller_report: launch_report has %s; expected path and %s"
                                % (", ".join(unknown), ", ".join(REPORT_PARTS)))
    html_path = os.path.abspath(os.path.expanduser(report["path"]))
    json_path = html_path[:-len(".html")] + ".json"
    data = launch_report.report_data(dict((k, v) for k, v in report.items() if k in REPORT_PARTS))
    try:
        stored = launch_report.load_data(json_path)
    except ValueError as exc:
        raise AnsibleActionFail("controller_report: %s; move it aside to write the report afresh" % exc)
    if stored is not None:
        data = launch_report.merge(stored, data)
    return {json_path: json.dumps(data, indent=2, sort_keys=True) + "\n", html_path: launch_report.render(data)}


def _same(path, content):
    """The file already holds ``content``: nothing to write."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read() == content
    except (OSError, UnicodeDecodeError):
        return False
