# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 6: the platform's git checkout is intact; branch, commit and
uncommitted changes are recorded."""

from __future__ import annotations

import os

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register

LISTED_CHANGES = 10
GIT_TIMEOUT = 60


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
            key, _, value = rec[2:].partition(" ")
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
        if changes:
            listed = ["%s %s" % change for change in changes[:LISTED_CHANGES]]
            more = len(changes) - len(listed)
            evidence["changes"] = listed
            raise CheckFailed(
                "uncommitted changes in %s: %d path(s): %s%s" % (
                    repo_dir, len(changes), ", ".join(listed), ", and %d more" % more if more else ""),
                hint="review them (git -C %s status); commit or stash what should stay, "
                     "or add paths the launch may leave changed to precheck_repository_ignore_paths" % repo_dir,
                details=evidence, level="warn")
        evidence["summary"] = "%s at %s (%s), clean" % (repo_dir, commit[:12], evidence["branch"])
        return evidence


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""
