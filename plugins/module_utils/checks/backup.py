# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 12: the backup directory is root's alone (it and every
directory above it: trusted_path), writable with room, and the
pre-deployment marker is written there.

The marker (``pre-deployment-<run id>.marker``) records that this run found
its backup location usable before it changed anything. In check mode the
directory is only tested with an access check and nothing is written.
"""

from __future__ import annotations

import os
import re
import stat

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import (GIB, Check, CheckFailed, gib,
                                                                                        register)
from ansible_collections.nexus_cos.launch.plugins.module_utils.trusted_path import problem_text
from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import iso_utc

DIR_MODE = 0o750
MARKER_MODE = 0o640
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def marker_path(backup_dir, run_id):
    return os.path.join(backup_dir, "pre-deployment-%s.marker" % run_id)


def render_marker(run_id, now, evidence):
    """Plain ``key: value`` lines (readable by eye and as YAML)."""
    lines = ["# Nexus COS Phase 4 pre-deployment marker",
             "run_id: %s" % run_id,
             "written_utc: %s" % iso_utc(now)]
    for key in sorted(evidence):
        value = evidence[key]
        lines.append("%s: %s" % (key, ", ".join(value) if isinstance(value, list) else value))
    return "\n".join(lines) + "\n"


def reason(exc):
    return exc.strerror or str(exc)


@register
class BackupCheck(Check):
    name = "backup"
    number = 12
    title = "Backup"

    def run(self, ctx):
        host = ctx.host
        backup_dir = ctx.param("dir")
        check_mode = bool(ctx.params.get("check_mode", False))
        run_id = str(ctx.params.get("run_id") or "")
        need = ctx.param("min_free_gb") * GIB
        evidence = {"backup_dir": backup_dir}
        hint_writable = ("make it writable for the deploying user (chown/chmod, or remount read-write), "
                         "or set nexus_backup_dir to a writable directory")

        if not check_mode and not RUN_ID.match(run_id):
            raise CheckFailed(
                "run id %r cannot name the pre-deployment marker; expected letters, digits, '.', '_' or '-'"
                % run_id, hint="pass a plain run id in nexus_run_id (launch_context sets one)")

        untrusted = host.untrusted(backup_dir)
        if untrusted:
            evidence["untrusted"] = untrusted[0]
            raise CheckFailed(problem_text("backup directory", backup_dir, untrusted) +
                              " (anyone who can write it can swap a snapshot's lib/, the code the rollback and "
                              "emergency scripts run as root)", hint=untrusted[2], details=evidence)

        st = host.stat(backup_dir)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise CheckFailed("backup path %s is not a directory; expected a directory for backups" % backup_dir,
                              hint="move that file away, or set nexus_backup_dir to a directory",
                              details=evidence)
        missing = []
        if st is None:
            # Create the missing levels (a fresh host has no backups/ yet),
            # below the nearest existing ancestor, which must be a directory.
            probe = backup_dir
            while host.stat(probe) is None and os.path.dirname(probe) != probe:
                missing.insert(0, probe)
                probe = os.path.dirname(probe)
            ancestor = host.stat(probe)
            if ancestor is None or not stat.S_ISDIR(ancestor.st_mode):
                raise CheckFailed("backup directory %s cannot be created: %s is not a directory; expected a "
                                  "directory there" % (backup_dir, probe),
                                  hint="set nexus_backup_dir to a path under an existing directory",
                                  details=evidence)
            if check_mode:
                evidence["would_create"] = missing
                if not host.writable(probe):
                    raise CheckFailed("backup directory %s does not exist and %s is not writable; expected a "
                                      "writable directory" % (backup_dir, probe),
                                      hint=hint_writable, details=evidence)
            else:
                try:
                    for path in missing:
                        host.make_dir(path, DIR_MODE)
                except OSError as exc:
                    raise CheckFailed("backup directory %s does not exist and could not be created (%s); expected "
                                      "a writable directory" % (backup_dir, reason(exc)),
                                      hint=hint_writable, details=evidence)
                evidence["created"] = missing

        if check_mode:
            if not missing and not host.writable(backup_dir):
                raise CheckFailed("backup directory %s is not writable (no write access); expected a writable "
                                  "directory" % backup_dir, hint=hint_writable, details=evidence)
        else:
            try:
                host.write_probe(backup_dir)
            except OSError as exc:
                raise CheckFailed("backup directory %s is not writable (%s); expected a writable directory"
                                  % (backup_dir, reason(exc)), hint=hint_writable, details=evidence)

        disk = host.disk_free(backup_dir)
        evidence.update(free=gib(disk["free"]), total=gib(disk["total"]), required_free=gib(need))
        if disk["free"] < need:
            raise CheckFailed(
                "only %s free for backups in %s, need %s" % (gib(disk["free"]), backup_dir, gib(need)),
                hint="remove old backups from %s or free space on its filesystem, "
                     "or lower precheck_backup_min_free_gb" % backup_dir,
                details=evidence)

        if check_mode:
            evidence["summary"] = "%s writable, %s free (check mode: no marker written)" % (
                backup_dir, evidence["free"])
            return evidence
        marker = marker_path(backup_dir, run_id)
        try:
            host.write_marker(marker, render_marker(run_id, host.now(), evidence), MARKER_MODE)
        except OSError as exc:
            raise CheckFailed("could not write the pre-deployment marker %s (%s); expected a writable directory"
                              % (marker, reason(exc)), hint=hint_writable, details=evidence)
        evidence["marker"] = marker
        evidence["summary"] = "%s writable, %s free, marker %s written" % (
            backup_dir, evidence["free"], os.path.basename(marker))
        return evidence
