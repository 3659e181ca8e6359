# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 6: the platform's git checkout is intact; branch, commit and
uncommitted changes are recorded.

Not every uncommitted change is someone's unreviewed edit. The check tells
three kinds apart:

* a file that equals the state a recorded activation left (its after-state
  hashes, in its snapshot's after.json): the launch's own change, named with
  the run that made it; not a warning;
* the leftovers of a write this collection was killed in the middle of
  (``.<file>.<random>.tmp`` temp files, ``<file>.lock`` sidecars): named with
  the command that removes them (the next write of that file sweeps them);
* anything else: uncommitted changes nobody recorded, a warning as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register

LISTED_CHANGES = 10
GIT_TIMEOUT = 60
# What atomic_file leaves when a writer is killed: its temp files and the
# edit lock's sidecar.
WRITE_LEFTOVER = re.compile(r"(^|/)(\.[^/]+\.[A-Za-z0-9_]+\.tmp|[^/]+\.lock)$")
STATE_FILE = "activation-state.json"


def status_argv(repo_dir, ignore_paths=()):
    """One git call gives branch, commit and changes. safe.directory: the
    check runs as root on a checkout another user may own. No optional locks:
    a precheck must not rewrite the index."""
    argv = ["git", "-c", "safe.directory=*", "--no-optional-locks", "-C", repo_dir,
            "status", "--porcelain=v2", "--branch", "-z", "--", "."]
    argv += [":(exclude)%s" % rel for rel in excluded(repo_dir, ignore_paths)]
    return argv


def excluded(repo_dir, ignore_paths):
    """Paths inside the checkout that the launch itself writes (its backups),
    relative to it; paths outside it need no exclusion."""
    base = os.path.normpath(repo_dir)
    out = []
    for path in ignore_paths or ():
        path = os.path.normpath(path)
        if path != base and path.startswith(base.rstrip("/") + "/"):
            out.append(os.path.relpath(path, base))
    return out


def parse_status(text):
    """Parse ``git status --porcelain=v2 --branch -z``: (headers, changes),
    changes as ``(code, path)`` with porcelain v1 codes (``M``, ``??``, ``R``)."""
    headers, changes = {}, []
    records = text.split("\0")
    i = 0
    while i < len(records):
        rec = records[i]
        i += 1
        if not rec:
            continue
        if rec.startswith("# "):
            key, dummy, value = rec[2:].partition(" ")
            headers[key] = value
        elif rec[0] in "12u":
            fields = rec.split(" ", {"1": 8, "2": 9, "u": 10}[rec[0]])
            code = fields[1].replace(".", " ").strip()
            changes.append((code, fields[-1]))
            if rec[0] == "2":
                i += 1  # a rename is followed by its original path
        elif rec[0] == "?":
            changes.append(("??", rec[2:]))
    return headers, changes


@register
class RepositoryCheck(Check):
    name = "repository"
    number = 6
    title = "Repository"

    def run(self, ctx):
        repo_dir = ctx.param("path")
        host = ctx.host
        st = host.stat(repo_dir)
        if st is None:
            raise CheckFailed(
                "repository directory %s does not exist; expected a git checkout of the platform" % repo_dir,
                hint="clone the Nexus COS repository there, or set nexus_repo_dir to where it is")
        if host.which("git") is None:
            raise CheckFailed("git not found on the host; expected git to inspect %s" % repo_dir,
                              hint="install git (apt-get install git)")
        rc, out, err = host.command(status_argv(repo_dir, ctx.param("ignore_paths")), timeout=GIT_TIMEOUT)
        reason = first_line(err) or "exit %d" % rc
        if rc != 0 and "not a git repository" in err:
            raise CheckFailed(
                "%s is not a git work tree; expected a git checkout of the platform" % repo_dir,
                hint="clone the Nexus COS repository there, or set nexus_repo_dir to the checkout",
                details={"git": reason})
        if rc != 0:
            raise CheckFailed(
                "git status failed in %s (%s); expected an intact checkout" % (repo_dir, reason),
                hint="inspect the checkout (git -C %s status; git fsck) and repair or re-clone it" % repo_dir,
                details={"git": reason})
        headers, changes = parse_status(out)
        commit = headers.get("branch.oid", "")
        branch = headers.get("branch.head", "")
        evidence = {"path": repo_dir, "branch": branch, "commit": commit}
        if not commit or commit == "(initial)":
            raise CheckFailed(
                "%s has no commit checked out (HEAD does not resolve); expected a checkout of a commit" % repo_dir,
                hint="check out the release to launch (git -C %s checkout <tag>)" % repo_dir,
                details=evidence)
        if branch == "(detached)":
            evidence["branch"] = "detached HEAD"
        if headers.get("branch.upstream"):
            evidence["upstream"] = headers["branch.upstream"]
            evidence["ahead_behind"] = headers.get("branch.ab", "")
        evidence["uncommitted"] = len(changes)
        recorded = recorded_states(host, ctx.params.get("backup_dir"), ctx.params.get("audit_dir"))
        ours, leftovers, foreign = [], [], []
        for code, rel in changes:
            path = os.path.join(repo_dir, rel)
            run = recorded.get(path, {}).get(_sha256(host.read_bytes(path))) if code in ("M", "MM", " M") else None
            if run:
                ours.append("%s (%s by run %s)" % (rel, run["key"], run["run_id"]))
            elif code == "??" and WRITE_LEFTOVER.search(rel):
                leftovers.append(rel)
            else:
                foreign.append("%s %s" % (code, rel))
        if ours:
            evidence["recorded_changes"] = ours
        if leftovers:
            evidence["write_leftovers"] = leftovers
        parts = []
        if foreign:
            listed = foreign[:LISTED_CHANGES]
            more = len(foreign) - len(listed)
            evidence["changes"] = listed
            parts.append("uncommitted changes nobody recorded in %s: %d path(s): %s%s" % (
                repo_dir, len(foreign), ", ".join(listed), ", and %d more" % more if more else ""))
        if leftovers:
            parts.append("leftovers of an interrupted write by this collection: %s" % ", ".join(leftovers))
        if parts:
            if ours:
                parts.append("the launch's own recorded changes: %s" % ", ".join(ours))
            hints = []
            if foreign:
                hints.append("review the changes nobody recorded (git -C %s status); commit or stash what should "
                             "stay, or add paths the launch may leave changed to precheck_repository_ignore_paths"
                             % repo_dir)
            if leftovers:
                hints.append("remove the leftovers (cd %s && rm -f %s); the next write of those files also sweeps "
                             "them" % (repo_dir, " ".join(leftovers)))
            raise CheckFailed("; ".join(parts), hint="; ".join(hints), details=evidence, level="warn")
        state = "clean" if not ours else "changed only by recorded activations: %s" % ", ".join(ours)
        evidence["summary"] = "%s at %s (%s), %s" % (repo_dir, commit[:12], evidence["branch"], state)
        return evidence


def _sha256(data):
    return hashlib.sha256(data).hexdigest() if data is not None else None


def recorded_states(host, backup_dir, audit_dir):
    """{path: {sha256: entry}}: the after-state each recorded activation
    left, from its snapshot's after.json (the hashes written before its first
    write). Only activations the state file records count."""
    if not backup_dir or not audit_dir:
        return {}
    try:
        entries = json.loads(host.read_text(os.path.join(audit_dir, STATE_FILE)) or "{}").get("activations") or []
    except (ValueError, AttributeError):
        return {}
    out = {}
    for entry in entries:
        run_id = entry.get("run_id") if isinstance(entry, dict) else None
        stamp = run_id[:16] if isinstance(run_id, str) else None
        if not stamp:
            continue
        try:
            after = json.loads(host.read_text(os.path.join(backup_dir, stamp, "after.json")) or "{}")
        except ValueError:
            continue
        for item in after.get("files") or []:
            if isinstance(item, dict) and item.get("exists") and item.get("sha256"):
                out.setdefault(item.get("path"), {})[item["sha256"]] = entry
    return out


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""
