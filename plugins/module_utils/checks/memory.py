# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 5: total and available memory."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import (GIB, Check, CheckFailed, gib,
                                                                                        register)

# MemTotal is the RAM left after the kernel's boot reservations (kernel image,
# crash kernel, firmware), a few percent below the installed size: a 4 GiB
# VPS reports about 3.8 GiB. A machine counts as having N GiB when MemTotal
# reaches this share of N, so the thresholds mean the size the VPS was sold as.
MEMTOTAL_SHARE = 0.9


@register
class MemoryCheck(Check):
    name = "memory"
    number = 5
    title = "Memory"
    default_severity = "warn"

    def run(self, ctx):
        info = ctx.host.meminfo()
        total = info.get("MemTotal")
        if not total:
            raise CheckFailed("could not read MemTotal from /proc/meminfo; expected the kernel's memory figures",
                              hint="check that /proc is mounted on the host")
        available = info.get("MemAvailable")
        need = ctx.param("min_gb") * GIB
        recommended = ctx.param("recommended_gb") * GIB
        need_available = ctx.param("min_available_gb") * GIB
        evidence = {"total": gib(total), "available": gib(available) if available is not None else "unknown",
                    "needed": gib(need), "recommended": gib(recommended),
                    "accepted_memtotal": gib(need * MEMTOTAL_SHARE)}
        if "SwapTotal" in info:
            evidence["swap_total"] = gib(info["SwapTotal"])

        if total < need * MEMTOTAL_SHARE:
            raise CheckFailed(
                "%s needed, %s total" % (gib(need), gib(total)),
                hint="add memory (MemTotal must reach %s, %d%% of %s, as the kernel keeps some) "
                     "or lower precheck_memory_min_gb" % (gib(need * MEMTOTAL_SHARE), MEMTOTAL_SHARE * 100, gib(need)),
                details=evidence)

        findings, hints = [], []
        if total < recommended * MEMTOTAL_SHARE:
            findings.append("%s total, below the recommended %s" % (gib(total), gib(recommended)))
            hints.append("add memory before the public launch or lower precheck_memory_recommended_gb")
        if available is not None and available < need_available:
            findings.append("only %s available, need %s" % (gib(available), gib(need_available)))
            hints.append("find what uses the memory (ps aux --sort=-rss | head) "
                         "or lower precheck_memory_min_available_gb")
        if findings:
            raise CheckFailed("; ".join(findings), hint="; ".join(hints), details=evidence, level="warn")
        evidence["summary"] = "%s total, %s available" % (evidence["total"], evidence["available"])
        return evidence
