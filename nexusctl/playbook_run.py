# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Runs the collection's playbooks through ansible-runner, streaming one
line of progress per task result, and maps the outcome to nexusctl's exit
codes. The same playbooks run unchanged under AWX/AAP: inputs are extra
vars, results are artifacts."""

from __future__ import annotations

import os
import sys
import tempfile

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_ERROR = 0, 1, 2, 3, 4

ROOT = os.environ.get("NEXUS_COLLECTION_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_INVENTORY = os.path.join(ROOT, "inventories", "sandbox")


def add_target_arguments(parser):
    parser.add_argument("-i", "--inventory", default=DEFAULT_INVENTORY,
                        help="inventory file or directory (default: the sandbox)")
    parser.add_argument("-l", "--limit", help="limit to these hosts or groups, like ansible-playbook --limit")
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="KEY=VALUE|@FILE|JSON",
                        help="extra variables, as for ansible-playbook (repeatable)")
    parser.add_argument("-v", "--verbose", action="count", default=0)


class Progress(object):
    """One line a task result; the recap at the end."""

    MARK = {"runner_on_ok": "ok", "runner_on_failed": "FAILED", "runner_on_unreachable": "UNREACHABLE",
            "runner_on_skipped": "skip", "runner_item_on_failed": "FAILED"}

    def __init__(self, stream=sys.stdout, verbose=0):
        self.stream = stream
        self.verbose = verbose
        self.failures = []

    def __call__(self, event):
        kind = event.get("event")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            self._say("== %s" % data.get("play", ""))
        mark = self.MARK.get(kind)
        if not mark or (mark == "skip" and not self.verbose):
            return True
        res = data.get("res") or {}
        changed = " changed" if res.get("changed") else ""
        line = "%-11s %-24s %s%s" % (mark, data.get("host", ""), data.get("task", ""), changed)
        self._say(line)
        for diff in (res.get("diff") or []) if isinstance(res.get("diff"), list) else [res.get("diff")]:
            self._diff(diff)
        if mark == "ok" and data.get("task_action") in ("debug", "ansible.builtin.debug") and "msg" in res:
            # What a play says to the operator (tables, where the logs are).
            msg = res["msg"]
            for part in (msg if isinstance(msg, list) else str(msg).splitlines()):
                self._say("            %s" % part)
        if mark in ("FAILED", "UNREACHABLE") and not data.get("ignore_errors"):
            msg = res.get("msg", "")
            if isinstance(msg, list):
                msg = "\n".join(str(m) for m in msg)
            for part in str(msg).splitlines():
                self._say("            %s" % part)
            self.failures.append((data.get("host"), data.get("task"), msg))
        return True

    def _diff(self, diff):
        """A task's --diff, as ansible-playbook would show it."""
        if not isinstance(diff, dict):
            return
        if diff.get("prepared"):
            text = diff["prepared"]
        elif "before" in diff and "after" in diff and isinstance(diff["before"], str):
            import difflib
            text = "".join(difflib.unified_diff(
                diff["before"].splitlines(True), diff["after"].splitlines(True),
                diff.get("before_header", "before"), diff.get("after_header", "after")))
        else:
            return
        for part in text.splitlines():
            self._say("            %s" % part)

    def _say(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()


def parse_extra_vars(items):
    """-e values in ansible-playbook's three forms, merged left to right."""
    import json
    import yaml
    merged = {}
    for item in items:
        if item.startswith("@"):
            with open(item[1:]) as handle:
                value = yaml.safe_load(handle) or {}
        elif item.lstrip().startswith("{"):
            value = json.loads(item)
        else:
            value = {}
            for pair in item.split():
                key, sep, val = pair.partition("=")
                if not sep:
                    raise ValueError("extra var %r: expected KEY=VALUE, @FILE or JSON" % pair)
                value[key] = val
        if not isinstance(value, dict):
            raise ValueError("extra vars %r: expected a mapping" % item)
        merged.update(value)
    return merged


def runner_environment(prefix):
    """(private_data_dir, envvars) for one ansible-runner run: a new
    directory ``artifacts/runner/<prefix>*``, and variables that make the run
    use this collection's ansible.cfg, this venv's binaries and this checkout
    as nexus_cos.launch."""
    env = {"ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".collections") + os.pathsep + os.environ.get(
               "ANSIBLE_COLLECTIONS_PATH", os.path.expanduser("~/.ansible/collections"))}
    base = os.path.join(ROOT, "artifacts", "runner")
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=base), env


def run_playbook(playbook, args, extravars=None, check=False, diff=False, quiet=False, tags=None):
    """Run ``playbooks/<playbook>`` and return nexusctl's exit code."""
    import ansible_runner

    inventory = os.path.abspath(args.inventory)
    if not os.path.exists(inventory):
        print("nexusctl: inventory %s does not exist" % args.inventory, file=sys.stderr)
        return EXIT_USAGE
    try:
        variables = parse_extra_vars(args.extra_vars)
    except (OSError, ValueError) as exc:
        print("nexusctl: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    variables.update(extravars or {})
    cmdline = []
    if check:
        cmdline.append("--check")
    if diff:
        cmdline.append("--diff")
    progress = Progress(verbose=args.verbose)
    private, env = runner_environment("nexusctl-")
    result = ansible_runner.run(
        private_data_dir=private, project_dir=ROOT, playbook=os.path.join(ROOT, "playbooks", playbook),
        inventory=inventory, limit=args.limit, extravars=variables, cmdline=" ".join(cmdline) or None,
        envvars=env, quiet=True, event_handler=None if quiet else progress,
        verbosity=args.verbose or None, json_mode=False, tags=tags)
    stats = result.stats or {}
    if result.rc == 0:
        return EXIT_OK
    if stats.get("dark"):
        return EXIT_UNREACHABLE
    if stats.get("failures") or result.rc == 2:
        return EXIT_REFUSED
    print("nexusctl: ansible-runner ended with %s (rc %s); its artifacts: %s" % (result.status, result.rc, private),
          file=sys.stderr)
    return EXIT_ERROR
