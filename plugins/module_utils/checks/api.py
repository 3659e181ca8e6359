# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 8: the gateway's health endpoint answers 200 within a time
budget (retried), its median latency is under the launch gate, and it
serves the flag store (``GET /api/feature-flags``: the access mode and as
many flags as the file holds; the platform's service keeps answering
/health while it serves no flags after a reload of a file it could not
parse)."""

from __future__ import annotations

import re

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents, gateway
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import ProbeError

# A latency sample slower than this is a failed sample, not a long wait.
SAMPLE_TIMEOUT = 10.0


def health_url(base, path):
    return base.rstrip("/") + "/" + path.lstrip("/")


def reason_of(status, body):
    """Why an answer was not a 200, short and stable: "HTTP 503",
    "connection refused", "timed out"."""
    if status:
        return "HTTP %d" % status
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(body or "no answer").strip())
    return (text[:1].lower() + text[1:])[:120] or "no answer"


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def wait_for_health(host, url, budget, retries, delay):
    """Try up to ``retries`` times within ``budget`` seconds (requests and
    pauses both count). Returns (answered, attempts, last_reason,
    answered_ms). The budget is tallied from the probes' own timings, so the
    same arithmetic holds on a host and in a test."""
    spent = 0.0
    attempts = 0
    last = "no attempt made"
    per_attempt = budget / float(max(retries, 1))
    while attempts < retries:
        remaining = budget - spent
        if remaining <= 0:
            break
        if attempts:
            pause = min(delay, remaining)
            host.sleep(pause)
            spent += pause
            remaining = budget - spent
            if remaining <= 0:
                break
        attempts += 1
        status, body, elapsed_ms = host.http_get(url, timeout=min(per_attempt, remaining))
        spent += elapsed_ms / 1000.0
        if status == 200:
            return True, attempts, "HTTP 200", elapsed_ms
        last = reason_of(status, body)
    return False, attempts, last, None


@register
class ApiCheck(Check):
    name = "api"
    number = 8
    title = "Gateway API"
    default_severity = "warn"

    def run(self, ctx):
        host = ctx.host
        url = health_url(ctx.param("gateway_url"), ctx.param("health_path"))
        path = "/" + ctx.param("health_path").lstrip("/")
        budget = float(ctx.param("timeout"))
        retries = int(ctx.param("retries"))
        gate = float(ctx.param("latency_gate_ms"))
        evidence = {"url": url, "budget_s": budget, "retries": retries}

        answered, attempts, last, first_ms = wait_for_health(
            host, url, budget, retries, float(ctx.param("retry_delay")))
        evidence["attempts"] = attempts
        if not answered:
            raise CheckFailed(
                "gateway %s did not answer 200 after %d attempt%s (last: %s)" % (
                    url, attempts, "" if attempts == 1 else "s", last),
                hint="start the gateway and read its log (systemctl status / docker logs of the gateway; "
                     "curl -v %s); if it is only slow to start, raise precheck_api_timeout or "
                     "precheck_api_retries" % url,
                details=evidence)
        evidence["first_answer_ms"] = first_ms

        samples = int(ctx.param("latency_samples"))
        latencies, failed = [], []
        for dummy in range(samples):
            status, body, elapsed_ms = host.http_get(url, timeout=SAMPLE_TIMEOUT)
            if status == 200:
                latencies.append(elapsed_ms)
            else:
                failed.append(reason_of(status, body))
        evidence["latencies_ms"] = latencies
        if failed:
            evidence["failed_samples"] = failed
            raise CheckFailed(
                "gateway %s answered 200, then failed %d of %d latency requests (last: %s); "
                "expected every request to answer 200" % (path, len(failed), samples, failed[-1]),
                hint="the gateway is flapping: read its log and check what restarts it",
                details=evidence)
        evidence["latency_gate_ms"] = gate
        served = self._served(ctx, evidence)
        if not latencies:
            evidence["summary"] = "%s answered 200 on attempt %d; latency not sampled; %s" % (url, attempts, served)
            return evidence
        middle = int(round(median(latencies)))
        evidence["median_ms"] = middle
        evidence["max_ms"] = max(latencies)
        if middle > gate:
            raise CheckFailed(
                "gateway %s median latency %d ms over %d requests is above the %s ms launch gate" % (
                    path, middle, len(latencies), _number(gate)),
                hint="find what slows the gateway (its log, docker stats, the database) before launch; "
                     "change precheck_api_latency_gate_ms only if the launch gate itself changed",
                details=evidence)
        evidence["summary"] = "%s answered 200 on attempt %d; median latency %d ms over %d requests (gate %s ms); %s" % (
            url, attempts, middle, len(latencies), _number(gate), served)
        return evidence

    @staticmethod
    def _served(ctx, evidence):
        """What the gateway serves (access mode, flags) against the flag
        store on the host; raises CheckFailed when it serves none of it."""
        host = ctx.host
        base = ctx.param("gateway_url")
        url = health_url(base, gateway.FLAGS_PATH)
        status, body, _ms = host.http_get(url, timeout=SAMPLE_TIMEOUT)
        mode, count = gateway.read_flags(gateway.Answer(status, body if status else None))
        evidence.update(access_mode=mode, flags_served=count)
        if count is None:
            raise CheckFailed(
                "gateway answers its health endpoint, but %s answered %s; expected 200 with {flags, currentMode} "
                "(the platform's flag service)" % (gateway.FLAGS_PATH, reason_of(status, body) if status != 200
                                                   else "HTTP 200 without a flags list"),
                hint="check that the gateway at %s mounts the platform's feature flag routes (curl %s)" % (base, url),
                details=evidence)
        path = ctx.param("flag_store")
        in_store = _store_flags(host, path) if path else None
        evidence["flags_in_store"] = in_store
        if count == 0 and in_store:
            raise CheckFailed(
                "gateway serves no flags at all (currentMode %s) while %s holds %d: the platform's flag service "
                "does this after a reload of a flag store it could not parse, and still answers /health"
                % (mode or "unknown", path, in_store),
                hint="the file parses now (precheck 7 says so), so the gateway read it while it was broken: reload "
                     "it with curl -X POST %s, then run again" % health_url(base, gateway.RELOAD_PATH),
                details=evidence)
        return "serves access mode %s with %d flags" % (mode, count)


def _store_flags(host, path):
    """How many flags the flag store at ``path`` holds, read as precheck 7
    reads it, or None when it cannot be read (precheck 7 reports that)."""
    try:
        data = host.read_bytes(path)
        table = documents.load_json_text(data, path).get("feature_flags") if data else None
    except (documents.DocumentError, ProbeError):
        return None
    return len(table) if isinstance(table, dict) else None


def _number(value):
    """200.0 -> "200", 150.5 -> "150.5"."""
    return ("%f" % value).rstrip("0").rstrip(".")
