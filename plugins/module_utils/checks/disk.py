# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 4: free space on the repository, backup and audit filesystems."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import (GIB, Check, CheckFailed, gib,
                                                                                        register)


@register
class DiskCheck(Check):
    name = "disk"
    number = 4
    title = "Disk space"

    def run(self, ctx):
        need = int(ctx.param("min_free_gb") * GIB)
        seen = {}
        for path in ctx.param("paths"):
            info = ctx.host.disk_free(path)
            # Several paths usually share one filesystem: report it once.
            seen.setdefault(info["device"], dict(info, paths=[]))["paths"].append(path)
        short = [fs for fs in seen.values() if fs["free"] < need]
        evidence = {"filesystems": ["%s: %s free of %s" % (",".join(fs["paths"]), gib(fs["free"]), gib(fs["total"]))
                                    for fs in seen.values()],
                    "required_free": gib(need)}
        if short:
            raise CheckFailed(
                "; ".join("only %s free on the filesystem of %s, need %s" % (
                    gib(fs["free"]), ", ".join(fs["paths"]), gib(need)) for fs in short),
                hint="free space there (old snapshots in nexus_backup_dir, docker system prune) "
                     "or lower precheck_disk_min_free_gb",
                details=evidence)
        evidence["summary"] = "%s free where %s needed" % (
            ", ".join(gib(fs["free"]) for fs in seen.values()), gib(need))
        return evidence
