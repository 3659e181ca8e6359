# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 2: the systemd units the platform needs are active, and nginx's
configuration passes ``nginx -t``."""

from __future__ import annotations

import re

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def nginx_error_line(stderr):
    """The line of ``nginx -t`` output that names the problem: nginx prints
    every line to stderr, the error first ("[emerg]" / "[alert]" / ...)
    and the generic "test failed" last."""
    for line in (stderr or "").splitlines():
        for tag in ("[emerg]", "[alert]", "[crit]", "[error]"):
            if tag in line:
                # Drop nginx's "2026/01/15 10:30:45 [emerg] 6460#6460: " prefix:
                # the time and pid say nothing about the fix.
                return tag + " " + re.sub(r"^\d+#\d+: ", "", line.split(tag, 1)[1].strip())
    return first_line(stderr)


def unit_states(host, units, timeout):
    """{unit: state} from one ``systemctl is-active`` call (one line per unit,
    in order). Raises CheckFailed when systemd cannot be asked."""
    argv = ["systemctl", "is-active"] + list(units)
    rc, out, err = host.command(argv, timeout=timeout)
    if rc == 127:
        raise CheckFailed("systemctl not found; expected systemd to manage %s" % ", ".join(units),
                          hint="run the launch on a systemd host (DESIGN section 3)")
    if rc == 124:
        raise CheckFailed("systemctl is-active %s did not answer within %s s" % (" ".join(units), timeout),
                          hint="check systemd itself: systemctl status; journalctl -b -p err")
    states = [line.strip() for line in out.splitlines() if line.strip()]
    if len(states) != len(units):
        raise CheckFailed(
            "could not read the state of %s: systemctl is-active answered rc %d: %s" % (
                ", ".join(units), rc, first_line(err) or first_line(out) or "no output"),
            hint="check that systemd is PID 1 and the units exist: systemctl status %s" % " ".join(units),
            details=dict((k, v) for k, v in (("stdout", out), ("stderr", err)) if v.strip()))
    return dict(zip(units, states))


@register
class ServicesCheck(Check):
    name = "services"
    number = 2
    title = "Services"

    def run(self, ctx):
        host = ctx.host
        units = list(ctx.param("units"))
        timeout = ctx.param("timeout")
        problems, hints = [], []
        evidence = {}
        if units:
            states = unit_states(host, units, timeout)
            evidence["units"] = states
            inactive = [unit for unit in units if states[unit] != "active"]
            problems += ["%s is %s; expected active" % (unit, states[unit]) for unit in inactive]
            if inactive:
                hints.append("start %s: systemctl start %s; see why it stopped: journalctl -u %s -n 50" % (
                    "them" if len(inactive) > 1 else "it", " ".join(inactive), " -u ".join(inactive)))
        if ctx.param("nginx_config_test"):
            rc, out, err = host.command(["nginx", "-t"], timeout=timeout)
            evidence["nginx_test_rc"] = rc
            if rc == 127:
                problems.append("nginx not found; expected nginx -t to pass")
                hints.append("install nginx, or set precheck_services_nginx_config_test: false on a host without it")
            elif rc == 124:
                problems.append("nginx -t did not finish within %s s; expected it to pass" % timeout)
                hints.append("run nginx -t by hand and see where it hangs (resolvers in the configuration)")
            elif rc != 0:
                problems.append("nginx -t failed: %s" % (nginx_error_line(err) or "rc %d, no output" % rc))
                evidence["nginx_test"] = (err or out).strip().splitlines()[-5:]
                hints.append("fix the file and line nginx -t names, then run nginx -t again")
        if problems:
            raise CheckFailed("; ".join(problems), hint="; ".join(hints), details=evidence)
        parts = []
        if units:
            parts.append("%s active" % ", ".join(units))
        if ctx.param("nginx_config_test"):
            parts.append("nginx -t ok")
        evidence["summary"] = "; ".join(parts) or "nothing to check"
        return evidence
