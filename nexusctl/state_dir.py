# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Where nexusctl keeps what it writes on the controller: its state
directory. Inside it, ``artifacts/`` holds the controller reports and the
exported audit chain heads (the plays' nexus_artifacts_dir, unless the
inventory pins another), and ``artifacts/runner/`` ansible-runner's records
of each run, rotated: the newest KEEP are kept.

The state directory is, first found: --state-dir, NEXUSCTL_STATE_DIR, the
checkout nexusctl runs from (a galaxy.yml beside playbooks/, not under an
ansible_collections/ tree: today's ./artifacts of a checkout), else
$XDG_STATE_HOME/nexus-cos-launch (~/.local/state/nexus-cos-launch). Never
inside an installed collection: a reinstall (ansible-galaxy collection
install --force) would erase it, audit heads included."""

from __future__ import annotations

import os
import shutil

STATE_ENV = "NEXUSCTL_STATE_DIR"
KEEP_ENV = "NEXUSCTL_KEEP_RUNS"
DEFAULT_KEEP_RUNS = 20
APP = "nexus-cos-launch"
# The name prefix of every private data dir nexusctl makes (playbook_run):
# rotation removes nothing else.
RUNNER_PREFIX = "nexusctl-"


class StateDirError(ValueError):
    """A state directory or a keep count that cannot be used."""


def installed_collection(path):
    """True when ``path`` (resolved) lies in an ansible_collections/ tree."""
    return "ansible_collections" in os.path.realpath(path).split(os.sep)


def is_checkout(root):
    return os.path.isfile(os.path.join(root, "galaxy.yml")) and not installed_collection(root)


def default_state_dir(root, environ=None):
    """(path, where it came from) when --state-dir is not given."""
    environ = os.environ if environ is None else environ
    if environ.get(STATE_ENV):
        return environ[STATE_ENV], STATE_ENV
    if is_checkout(root):
        return os.path.realpath(root), "the checkout"
    base = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, APP), "XDG_STATE_HOME" if environ.get("XDG_STATE_HOME") else "~/.local/state"


def resolve(given, root, environ=None):
    """The absolute state directory: ``given`` (--state-dir) or the default.
    Raises StateDirError for one inside an installed collection."""
    path, origin = (given, "--state-dir") if given else default_state_dir(root, environ)
    path = os.path.abspath(os.path.expanduser(path))
    if installed_collection(path):
        raise StateDirError("%s %s: inside an installed collection (an ansible_collections/ tree), which a "
                            "reinstall erases; expected a directory of your own, e.g. ~/.local/state/%s"
                            % (origin, path, APP))
    return path


def keep_runs(given=None, environ=None):
    """How many runner records to keep: ``given`` (--keep-runs), else
    NEXUSCTL_KEEP_RUNS, else 20. Raises StateDirError naming the source."""
    environ = os.environ if environ is None else environ
    if given is not None:
        value, origin = given, "--keep-runs"
    elif environ.get(KEEP_ENV):
        value, origin = environ[KEEP_ENV], KEEP_ENV
    else:
        return DEFAULT_KEEP_RUNS
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1:
        raise StateDirError("%s %s: expected a whole number of runs, at least 1" % (origin, value))
    return number


def artifacts_dir(state):
    return os.path.join(state, "artifacts")


def runner_dir(state):
    return os.path.join(artifacts_dir(state), "runner")


def rotate(directory, keep):
    """Remove all but the ``keep`` newest run records (by modification
    time) in ``directory``; only directories named nexusctl-*, so nothing
    else there (the audit heads live in artifacts/audit-heads, beside it) is
    ever touched. Returns the removed paths."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    runs = []
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(RUNNER_PREFIX) and os.path.isdir(path) and not os.path.islink(path):
            runs.append((os.stat(path).st_mtime, name, path))
    runs.sort(reverse=True)
    removed = []
    for dummy, dummy, path in runs[keep:]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
