# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The operator's console: one line per stage, the precheck table once and
unwrapped, each failure once with its fix, then the recap. The same
callback serves ansible-playbook (ansible.cfg), nexusctl (ansible-runner
wraps the callback ANSIBLE_STDOUT_CALLBACK names) and AWX."""

from __future__ import annotations

DOCUMENTATION = r'''
name: console
type: stdout
short_description: One line per stage, the precheck table once, each failure once with its fix
version_added: "2.1.0"
description:
  - Prints one line per stage with its status and elapsed time. A stage is a role (the tasks of one role in a row,
    whether imported, included or listed under C(roles)), or a task that belongs to no role.
  - Under a stage it prints what the operator must read, once each, unwrapped (one line per line, no YAML
    folding), namely the precheck results table, each failed precheck with its fix and the variables that skip or
    downgrade it, the messages of C(ansible.builtin.debug) tasks, and every other task failure in full with its
    message. A line already printed for a host (a precheck row, a failure) is not printed again when a later
    task repeats it (the run summary, the final failure).
  - Ends with one recap line per host and the run's elapsed time.
  - Tasks that are ok, changed or skipped print nothing of their own at default verbosity; with C(-v) (or
    O(show_tasks)) each task result gets one line; with C(-vvv) each result is dumped in full.
  - Results of C(no_log) tasks stay censored.
  - In ansible-runner and AWX, name it in C(ANSIBLE_STDOUT_CALLBACK) (or the project's C(ansible.cfg));
    their event callback wraps it and its output becomes the job's stdout.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - ansible.builtin.result_format_callback
options:
  show_tasks:
    description:
      - Print one line per task result (status, host, task) at default verbosity too, as with C(-v).
    type: bool
    default: false
    env:
      - name: NEXUS_CONSOLE_SHOW_TASKS
    ini:
      - section: callback_console
        key: show_tasks
requirements:
  - set as stdout callback (C(stdout_callback = nexus_cos.launch.console) in C(ansible.cfg), or
    C(ANSIBLE_STDOUT_CALLBACK=nexus_cos.launch.console))
'''

import time

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

DEBUG_ACTIONS = frozenset(("debug", "ansible.builtin.debug", "ansible.legacy.debug"))
# The keys a task result of the precheck action carries (plugins/action/precheck.py).
PRECHECK_KEYS = ("table", "failures", "summary")
# A stage's status, worst first.
RANK = ("UNREACHABLE", "FAILED", "changed", "ok", "skipped")


def message_lines(msg):
    """A result's msg as lines: a list gives one line an item, a string one
    a line of text; never a Python repr of a list."""
    if msg is None:
        return []
    if isinstance(msg, (list, tuple)):
        lines = []
        for item in msg:
            lines.extend(str(item).splitlines() or [""])
        return lines
    return str(msg).splitlines()


def task_of(result):
    """The task of a callback's result: ``task`` from ansible-core 2.19,
    ``_task`` before (2.16 to 2.18 have only the private name)."""
    return getattr(result, "task", None) or result._task  # pylint: disable=protected-access


def result_of(result):
    """The result dict of a callback's result (``result``, or ``_result`` before 2.19)."""
    found = getattr(result, "result", None)
    return found if isinstance(found, dict) else result._result  # pylint: disable=protected-access


def host_of(result):
    """The host of a callback's result (``host``, or ``_host`` before 2.19)."""
    return getattr(result, "host", None) or result._host  # pylint: disable=protected-access


def is_precheck_result(res):
    return all(key in res for key in PRECHECK_KEYS) and isinstance(res.get("table"), list)


def precheck_lines(res):
    """The precheck table with its counts, then each failure with its fix
    (the action's own failure listing)."""
    summary = res.get("summary") or {}
    head = "prechecks (%s passed, %s failed, %s warned, %s skipped):" % tuple(
        summary.get(k, "?") for k in ("passed", "failed", "warned", "skipped"))
    return [head] + list(res["table"]), list(res.get("failures") or [])


def stage_name(task):
    """The stage a task belongs to: its role's short name, or the task's own
    name when it belongs to no role."""
    role = getattr(task, "_role", None)
    if role is not None:
        return role.get_name(include_role_fqcn=False)
    return task.get_name().strip() or task.action


def stage_line(status, seconds, name, failed_hosts=()):
    where = " (%s)" % ", ".join(failed_hosts) if failed_hosts else ""
    return "  %-8s %6.1fs  %s%s" % (status, seconds, name, where)


def recap_line(host, stats, seconds):
    return "%s: ok=%d changed=%d failed=%d unreachable=%d skipped=%d rescued=%d ignored=%d  (%.1fs)" % (
        host, stats.get("ok", 0), stats.get("changed", 0), stats.get("failures", 0), stats.get("unreachable", 0),
        stats.get("skipped", 0), stats.get("rescued", 0), stats.get("ignored", 0), seconds)


class Stage(object):
    """A stage being run: its name, start, the statuses seen and the notes
    to print under its line, (host, line, remember) each."""

    def __init__(self, name):
        self.name = name
        self.started = time.monotonic()
        self.statuses = set()
        self.failed_hosts = []
        self.notes = []

    def status(self):
        for status in RANK:
            if status in self.statuses:
                return status
        return "ok"


class CallbackModule(CallbackBase):

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "nexus_cos.launch.console"

    def __init__(self, display=None):
        super().__init__(display)
        self._stage = None
        self._started = time.monotonic()
        # {host: lines printed for it}: a line said once is not said again.
        self._said = {}

    def _option(self, name, default):
        # ansible-runner's and AWX's awx_display subclasses this callback but
        # keeps its own option definitions, where ours are missing.
        try:
            value = self.get_option(name)
        except KeyError:
            return default
        return default if value is None else value

    def _verbose(self):
        return self._display.verbosity >= 1 or bool(self._option("show_tasks", False))

    # ------------------------------------------------------------ stages
    def _enter(self, task):
        name = stage_name(task)
        if self._stage is not None and self._stage.name == name:
            return
        self._close()
        self._stage = Stage(name)

    def _close(self):
        stage, self._stage = self._stage, None
        if stage is None or not (stage.statuses or stage.notes):
            return
        status = stage.status()
        color = C.COLOR_ERROR if status in ("FAILED", "UNREACHABLE") else (
            C.COLOR_CHANGED if status == "changed" else C.COLOR_OK if status == "ok" else C.COLOR_SKIP)
        self._display.display(stage_line(status, time.monotonic() - stage.started, stage.name, stage.failed_hosts),
                              color=color)
        hosts = set(note[0] for note in stage.notes)
        lines = []
        for host, line, remember in stage.notes:
            said = self._said.setdefault(host, set())
            if line.strip() and line in said:
                continue
            if remember:
                said.add(line)
            lines.append("    %s%s" % ("%s: " % host if len(hosts) > 1 else "", line))
        if lines:
            self._display.display("\n".join(lines))

    def _note(self, host, lines, remember=False):
        """Lines to print under the stage's line. ``remember``: a later
        note repeating one of them (a summary, the final failure) leaves it
        out; a play's own messages are never remembered, so two alike both show."""
        if self._stage is not None:
            self._stage.notes.extend((host, line, remember) for line in lines)
        else:
            self._display.display("\n".join("    %s: %s" % (host, line) for line in lines))

    def _count(self, result, status):
        if self._stage is None:
            self._enter(task_of(result))
        self._stage.statuses.add(status)
        if status in ("FAILED", "UNREACHABLE") and host_of(result).get_name() not in self._stage.failed_hosts:
            self._stage.failed_hosts.append(host_of(result).get_name())

    def _task_line(self, result, status, res):
        if self._verbose():
            item = self._get_item_label(res) if "_ansible_item_label" in res or "item" in res else None
            self._display.display("    %-9s %s: %s%s" % (status, host_of(result).get_name(), task_of(result).get_name().strip(),
                                                         " (item=%s)" % item if item is not None else ""),
                                  color=C.COLOR_CHANGED if status == "changed" else None)
        if self._display.verbosity >= 3:
            self._display.display(self._dump_results(res, indent=4))

    # ------------------------------------------------------------ playbook events
    def v2_playbook_on_play_start(self, play):
        self._close()
        self._display.display("PLAY %s%s" % (play.get_name().strip(), " (check mode)" if play.check_mode else ""),
                              color=C.COLOR_HIGHLIGHT)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._enter(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._enter(task)

    def v2_playbook_on_no_hosts_matched(self):
        self._display.display("skipping: no hosts matched", color=C.COLOR_SKIP)

    def v2_playbook_on_no_hosts_remaining(self):
        self._close()
        self._display.display("NO MORE HOSTS LEFT", color=C.COLOR_ERROR)

    def v2_playbook_on_stats(self, stats):
        self._close()
        seconds = time.monotonic() - self._started
        lines = [recap_line(host, stats.summarize(host), seconds) for host in sorted(stats.processed.keys())]
        self._display.display("\nRECAP " + "\n      ".join(lines) if lines else "RECAP: no host ran")

    # ------------------------------------------------------------ task results
    def _common(self, result):
        """The result as shown: warnings displayed, exception kept for -vvv."""
        res = result_of(result)
        self._handle_warnings(res)
        # A no_log result keeps its exception, whose summary repeats the
        # message no_log hides: never shown.
        if self._display.verbosity >= 3 and "censored" not in res:
            self._handle_exception(res)
        else:
            res.pop("exception", None)
        return res

    def v2_runner_on_ok(self, result):
        res = self._common(result)
        status = "changed" if res.get("changed") else "ok"
        self._count(result, status)
        host = host_of(result).get_name()
        if is_precheck_result(res):
            table, failures = precheck_lines(res)
            self._note(host, table + failures, remember=True)
        elif task_of(result).action in DEBUG_ACTIONS and not res.get("skipped"):
            if "msg" in res:
                self._note(host, message_lines(res["msg"]))
            else:
                # debug var=...: the variable as the result format shows it.
                shown = dict((k, v) for k, v in res.items() if not k.startswith("_") and k != "changed")
                self._note(host, self._dump_results(shown, indent=2).strip("\n").splitlines())
        self._task_line(result, status, res)

    def v2_runner_on_skipped(self, result):
        self._count(result, "skipped")
        self._task_line(result, "skipping", result_of(result))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        res = self._common(result)
        host = host_of(result).get_name()
        if ignore_errors:
            self._count(result, "ok")
            if self._verbose():
                msg = "; ".join(message_lines(res.get("msg", res.get("censored"))))
                self._note(host, ["%s (failed, ignored): %s" % (task_of(result).get_name().strip(), msg)])
            return
        self._count(result, "FAILED")
        if is_precheck_result(res):
            # An expected refusal: the table and each failure with its fix
            # say everything; the same lines as msg would repeat them.
            table, failures = precheck_lines(res)
            self._note(host, table + failures, remember=True)
        else:
            self._note(host, self._failure_lines(result, res), remember=True)
        self._task_line(result, "FAILED", res)

    def _failure_lines(self, result, res):
        name = task_of(result).get_name().strip()
        if "censored" in res:
            return ["%s failed: %s" % (name, res["censored"])]
        msg = message_lines(res.get("msg"))
        if task_of(result).action in ("fail", "ansible.builtin.fail", "ansible.legacy.fail"):
            # A play's own failure message: it is the text to read.
            return msg or ["%s failed" % name]
        lines = ["%s failed%s" % (name, ": " + msg[0] if msg else "")] + ["  " + m for m in msg[1:]]
        for key in ("stderr", "module_stderr", "stdout", "module_stdout"):
            text = res.get(key)
            if text and isinstance(text, str) and text.strip():
                lines.append("  %s:" % key)
                lines.extend("    " + part for part in text.strip().splitlines()[-20:])
        if not msg and len(lines) == 1:
            lines.extend("  " + part for part in self._dump_results(res, indent=2).splitlines())
        return lines

    def v2_runner_on_unreachable(self, result):
        res = self._common(result)
        self._count(result, "UNREACHABLE")
        self._note(host_of(result).get_name(), ["%s: unreachable: %s" % (
            task_of(result).get_name().strip(), "; ".join(message_lines(res.get("msg"))) or "(no message)")])

    def v2_runner_item_on_ok(self, result):
        self._task_line(result, "changed" if result_of(result).get("changed") else "ok", result_of(result))

    def v2_runner_item_on_skipped(self, result):
        self._task_line(result, "skipping", result_of(result))

    def v2_runner_item_on_failed(self, result):
        res = result_of(result)
        item = self._get_item_label(res)
        if task_of(result).ignore_errors:
            return
        self._count(result, "FAILED")
        lines = self._failure_lines(result, res)
        lines[0] = "(item=%s) %s" % (item, lines[0])
        self._note(host_of(result).get_name(), lines)

    def v2_runner_retry(self, result):
        if self._verbose():
            res = result_of(result)
            self._display.display("    retrying  %s: %s (%s of %s)" % (
                host_of(result).get_name(), task_of(result).get_name().strip(), res.get("attempts"), res.get("retries")))

    def v2_on_file_diff(self, result):
        res = result_of(result)
        diffs = [r.get("diff") for r in res.get("results", []) if r.get("changed")] if "results" in res else (
            [res.get("diff")] if res.get("changed") else [])
        for diff in diffs:
            text = self._get_diff(diff) if diff else ""
            if text:
                self._note(host_of(result).get_name(), text.rstrip("\n").splitlines())
