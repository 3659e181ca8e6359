# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 7: the four PF files and the flag store parse, match their
schemas and agree with each other. The rules live in nexus_config, shared
with `nexusctl validate`, which runs them on the controller; the files are
read by documents, the reader the gates and the editors use too."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register
from ansible_collections.nexus_cos.launch.plugins.module_utils.nexus_config import validate_repo

SHOWN = 5


@register
class ConfigurationCheck(Check):
    name = "configuration"
    number = 7
    title = "Configuration"

    def run(self, ctx):
        report = validate_repo(ctx.param("repo_dir"), ctx.param("pf_dir"), ctx.param("flag_store"))
        evidence = {"files": len(report.files), "access_mode": report.facts.get("access_mode", "unknown"),
                    "warnings": [str(f) for f in report.warnings[:SHOWN]]}
        if report.errors:
            first = [str(f) for f in report.errors[:SHOWN]]
            more = len(report.errors) - len(first)
            raise CheckFailed(
                "%d configuration error(s): %s%s" % (len(report.errors), "; ".join(first),
                                                     " (and %d more)" % more if more else ""),
                hint="fix the named keys; `nexusctl validate --repo-dir DIR` shows every finding on a copy",
                details=dict(evidence, errors=[str(f) for f in report.errors]))
        evidence["summary"] = "%d files valid, %d warning(s), access mode %s" % (
            len(report.files), len(report.warnings), evidence["access_mode"])
        return evidence
