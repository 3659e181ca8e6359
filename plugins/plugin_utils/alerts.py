# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Alerts to the channels the inventory names (``nexus_alert_channels``),
sent from the controller: launch start and end, each marketplace step, a
refused gate, an automatic rollback, the kill switch and a guard breach.

A channel is ``{name, type, url, token?, routing_key?, timeout?,
min_severity?, retries?}``, ``type`` one of:

* ``webhook``: a JSON POST of the event (``{source, event, level, severity,
  action, dedup_key, text, host, run_id, at, details}``), with
  ``Authorization: Bearer <token>`` when a token is given;
* ``slack``: a Slack incoming webhook (or a Slack-compatible one), the event
  as ``{"text": ...}``. community.general.slack posts only to hooks.slack.com
  (``https://hooks.<domain>/services/<token>``) with a fixed 10 s timeout, so
  it cannot be pointed at a test receiver or a Slack-compatible gateway, nor
  bounded tighter: the incoming-webhook call is three lines here instead;
* ``pagerduty``: PagerDuty Events API v2 (``url`` defaults to
  PAGERDUTY_URL), ``routing_key`` the integration key, one incident per
  ``dedup_key``;
* ``alertmanager``: Prometheus Alertmanager, ``POST <url>/api/v2/alerts``,
  one alert whose labels carry the ``dedup_key``, ``endsAt`` on resolve.

Every event has a ``severity`` (SEVERITIES, the seed's alerting table),
decided by SEVERITY alone; a channel with ``min_severity`` skips what is
below it (the result says skipped, not failed). Every event has a
``dedup_key`` (incident_key: kind, host and run, hashed), so an incident
pages once and a ``resolve`` closes it.

No redirect is followed (urllib would follow it with the Authorization
header to the host it names): a 3xx is a failed delivery, reported and
audited with its status and the host it pointed to, never its full URL.

A channel that fails never fails the change. Delivery is retried (no
answer, 5xx, 429) and every channel is sent to at once, all of it inside
DELIVERY_BUDGET (the seed's "critical: page within a minute"): each
attempt's timeout and each pause are cut to what is left of it. The failure
is returned (and the play audits and shows it). URLs, tokens and routing
keys are secrets (a Slack webhook URL is a credential): only a channel's
name ever appears in results, messages or the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import socket
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.nexus_cos.launch.plugins.module_utils import utc_time

TYPES = ("webhook", "slack", "pagerduty", "alertmanager")
DEFAULT_TIMEOUT = 3.0
LEVELS = ("info", "warning", "critical")
SOURCE = "nexus_cos.launch"

# The seed's monitoring.alerting (global-launch.yaml), most urgent first:
# how soon each must reach a person.
SEVERITIES = ("critical", "high", "medium", "low")
RESPONSE = {"critical": "page within a minute", "high": "within 5 minutes", "medium": "within 30 minutes",
            "low": "a ticket"}

# The one place an event's severity is decided: its kind and its level
# (info, warning, critical). A failed precheck stops a launch or a step at
# its gate, so it arrives as gate_refused.
SEVERITY = {
    #                     info        warning     critical
    "launch_start": ("low", "medium", "high"),
    # A launch that failed and was not rolled back may have left the platform half open.
    "launch_end": ("low", "medium", "critical"),
    "marketplace_step": ("low", "medium", "high"),
    # Nothing was changed; someone must look before the window passes.
    "gate_refused": ("medium", "medium", "medium"),
    # The change was undone and the platform is back where it was; the launch is not.
    "automatic_rollback": ("high", "high", "high"),
    "kill_switch": ("critical", "critical", "critical"),
    "guard_breach": ("high", "high", "critical"),
}

# Delivery: the first attempt and its retries end inside the critical budget.
DELIVERY_BUDGET = 60.0
# Kept back from the budget for the threads to hand in their results.
BUDGET_MARGIN = 1.0
DEFAULT_RETRIES = 2
MAX_RETRIES = 5
BACKOFF = 0.5           # seconds before the first retry, doubled each time
BACKOFF_CAP = 8.0
MIN_ATTEMPT = 0.2       # an attempt with less time left than this is not started
RETRY_STATUSES = (408, 429)

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
ALERTMANAGER_PATH = "/api/v2/alerts"
KEYS = {"webhook": ("url", "token"), "slack": ("url", "token"), "pagerduty": ("routing_key", "url"),
        "alertmanager": ("url", "token")}
COMMON_KEYS = ("name", "type", "timeout", "min_severity", "retries")


class ChannelError(ValueError):
    """A channel definition that cannot be used; names the channel and key,
    never its URL or token."""


def channels(given):
    """The inventory's channels, checked."""
    if given in (None, "", []):
        return []
    shape = "{name, type, url[, token, routing_key, timeout, min_severity, retries]}"
    if not isinstance(given, list):
        raise ChannelError("nexus_alert_channels: expected a list of %s" % shape)
    out, names = [], set()
    for index, item in enumerate(given):
        where = "nexus_alert_channels[%d]" % index
        if not isinstance(item, dict):
            raise ChannelError("%s: expected a mapping %s" % (where, shape))
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ChannelError("%s.name: expected a name for the channel (it is what messages show)" % where)
        if name in names:
            raise ChannelError("%s.name: %s is used twice; expected one name per channel" % (where, name))
        names.add(name)
        kind = item.get("type")
        if kind not in TYPES:
            raise ChannelError("%s (%s).type: expected one of %s, found %r" % (where, name, ", ".join(TYPES), kind))
        where = "%s (%s)" % (where, name)
        allowed = COMMON_KEYS + KEYS[kind]
        # An argument spec fills every option it knows with None: absent, not unknown.
        unknown = sorted(key for key in set(item) - set(allowed) if item[key] is not None)
        if unknown:
            raise ChannelError("%s: unknown key %s; a %s channel takes %s"
                               % (where, ", ".join(unknown), kind, ", ".join(allowed)))
        url = item.get("url")
        if kind == "pagerduty" and url in (None, ""):
            url = PAGERDUTY_URL
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ChannelError("%s.url: expected an http:// or https:// URL (not shown: it may hold a secret)" % where)
        routing_key = item.get("routing_key")
        if kind == "pagerduty" and (not isinstance(routing_key, str) or not routing_key.strip()):
            raise ChannelError("%s.routing_key: expected the PagerDuty integration's routing key, a non-empty string "
                               "(not shown: it is a secret)" % where)
        timeout = DEFAULT_TIMEOUT if item.get("timeout") is None else item["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 30:
            raise ChannelError("%s.timeout: expected seconds between 0 and 30, found %r" % (where, timeout))
        floor = item.get("min_severity") or "low"
        if floor not in SEVERITIES:
            raise ChannelError("%s.min_severity: expected one of %s, found %r" % (where, ", ".join(SEVERITIES), floor))
        retries = DEFAULT_RETRIES if item.get("retries") is None else item["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
            raise ChannelError("%s.retries: expected a whole number from 0 to %d, found %r"
                               % (where, MAX_RETRIES, retries))
        out.append({"name": name, "type": kind, "url": url, "token": item.get("token"), "routing_key": routing_key,
                    "timeout": float(timeout), "min_severity": floor, "retries": retries})
    return out


def severity_of(kind, level):
    """The severity of an event of ``kind`` at ``level`` (SEVERITY)."""
    if kind not in SEVERITY:
        raise ValueError("alert event %r: expected one of %s" % (kind, ", ".join(SEVERITY)))
    if level not in LEVELS:
        raise ValueError("alert level %r: expected one of %s" % (level, ", ".join(LEVELS)))
    return SEVERITY[kind][LEVELS.index(level)]


def incident_key(kind, host=None, run_id=None):
    """The dedup key of one incident: the same kind, host and run are the
    same incident. A hash, so no value can make it too long or odd for a
    receiver; it is made of nothing secret."""
    digest = hashlib.sha256(("%s|%s|%s" % (kind, host or "-", run_id or "-")).encode("utf-8")).hexdigest()
    return "nexus-cos-%s-%s" % (kind.replace("_", "-"), digest[:24])


def event(kind, level, text, host=None, run_id=None, details=None, at=None, dedup_key=None):
    """The payload of one alert (a trigger)."""
    severity = severity_of(kind, level)
    at = time.time() if at is None else at
    return {"source": SOURCE, "event": kind, "level": level, "severity": severity, "action": "trigger",
            "dedup_key": dedup_key or incident_key(kind, host, run_id), "text": text, "host": host, "run_id": run_id,
            "at": utc_time.iso_utc(at), "details": details or {}}


def resolve(payload, text, at=None):
    """The resolve of the incident ``payload`` triggered: the same kind,
    severity and dedup key, what is seen now, and when it ended (``at`` of
    the trigger is kept: Alertmanager's startsAt)."""
    at = time.time() if at is None else at
    return dict(payload, action="resolve", text=text, resolved_at=utc_time.iso_utc(at))


def below(payload, channel):
    """True when ``payload`` is less urgent than the channel's min_severity."""
    return SEVERITIES.index(payload.get("severity", "low")) > SEVERITIES.index(channel.get("min_severity") or "low")


def slack_text(payload):
    if payload.get("action") == "resolve":
        mark = ":white_check_mark:"
    else:
        mark = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}[payload["level"]]
    where = " on %s" % payload["host"] if payload.get("host") else ""
    run = " (run %s)" % payload["run_id"] if payload.get("run_id") else ""
    what = "resolved" if payload.get("action") == "resolve" else payload.get("severity", "")
    return "%s Nexus COS %s%s%s: [%s] %s" % (mark, payload["event"], where, run, what, payload["text"])


def pagerduty_body(channel, payload):
    """An Events API v2 event: a trigger with its payload, or a resolve of
    the dedup key."""
    body = {"routing_key": channel["routing_key"], "event_action": payload.get("action", "trigger"),
            "dedup_key": payload["dedup_key"]}
    if body["event_action"] == "trigger":
        custom = {"text": payload["text"], "run_id": payload.get("run_id"), "level": payload["level"],
                  "severity": payload["severity"], "response": RESPONSE[payload["severity"]]}
        custom.update(payload.get("details") or {})
        where = " on %s" % payload["host"] if payload.get("host") else ""
        body["payload"] = {
            # PagerDuty cuts nothing itself: a summary over 1024 characters is refused.
            "summary": _cut("Nexus COS %s%s: %s" % (payload["event"], where, payload["text"]), 1024),
            "source": payload.get("host") or SOURCE, "severity": PAGERDUTY_SEVERITY[payload["severity"]],
            "timestamp": payload["at"], "component": "nexus-cos", "group": "launch", "class": payload["event"],
            "custom_details": custom}
        body["client"] = SOURCE
    return body


def alertmanager_body(payload):
    """One alert for Alertmanager's v2 API. Its labels identify it (the
    same on trigger and resolve); endsAt is set only on resolve."""
    alert = {
        "labels": {"alertname": "NexusCOS_%s" % payload["event"], "severity": payload["severity"],
                   "instance": payload.get("host") or "-", "service": "nexus-cos", "event": payload["event"],
                   "dedup_key": payload["dedup_key"]},
        "annotations": {"summary": _cut(payload["text"], 1024),
                        "description": "Nexus COS %s%s%s, severity %s (%s): %s" % (
                            payload["event"], " on %s" % payload["host"] if payload.get("host") else "",
                            " (run %s)" % payload["run_id"] if payload.get("run_id") else "", payload["severity"],
                            RESPONSE[payload["severity"]], payload["text"])},
        "startsAt": payload["at"]}
    if payload.get("run_id"):
        alert["labels"]["run_id"] = payload["run_id"]
    if payload.get("action") == "resolve":
        alert["endsAt"] = payload.get("resolved_at") or utc_time.iso_utc()
    link = (payload.get("details") or {}).get("link")
    if isinstance(link, str) and link.startswith(("http://", "https://")):
        alert["generatorURL"] = link
    return [alert]


def _cut(text, limit):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _request(channel, payload):
    url = channel["url"]
    if channel["type"] == "slack":
        body = {"text": slack_text(payload)}
    elif channel["type"] == "pagerduty":
        body = pagerduty_body(channel, payload)
    elif channel["type"] == "alertmanager":
        body = alertmanager_body(payload)
        if not url.rstrip("/").endswith(ALERTMANAGER_PATH):
            url = url.rstrip("/") + ALERTMANAGER_PATH
    else:
        body = payload
    headers = {"Content-Type": "application/json", "User-Agent": SOURCE}
    if channel.get("token"):
        headers["Authorization"] = "Bearer %s" % channel["token"]
    return urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses every redirect: urllib would follow it with the channel's
    headers, Authorization included, to whatever host it names. The 3xx
    then surfaces as an HTTPError, a failed delivery."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def no_redirect_opener():
    """The opener every channel is sent with: no redirect followed."""
    return urllib.request.build_opener(_NoRedirect)


_HOST_TEXT = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,100}\Z")


def location_host(location):
    """The host (and port) a redirect named, never its path, query or
    user info, which can carry a secret (a Slack hook's path is one);
    "the same host" for a relative Location, "unknown" when there is none
    or it is no plain host name."""
    if not location:
        return "unknown"
    try:
        parts = urllib.parse.urlsplit(str(location).strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "unknown"
    if not parts.netloc:
        return "the same host"
    text = host if port is None else "%s:%d" % (host, port)
    return text if text and _HOST_TEXT.match(text) else "unknown"


def _reason(exc):
    """Why a send failed, in words that never carry the URL or the token."""
    if isinstance(exc, urllib.error.HTTPError):
        if 300 <= exc.code < 400:
            location = exc.headers.get("Location") if exc.headers else None
            return "HTTP %d redirect to %s, not followed" % (exc.code, location_host(location))
        return "HTTP %d" % exc.code
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.timeout) or "timed out" in str(reason):
        return "timed out"
    text = getattr(reason, "strerror", None) or reason.__class__.__name__
    return str(text)[:120]


def _attempt(opener, request, timeout):
    """One POST: (ok, status, reason, location_host, worth another try)."""
    try:
        with opener.open(request, timeout=timeout) as response:
            ok = 200 <= response.status < 300
            return ok, response.status, "" if ok else "HTTP %d" % response.status, None, False
    except urllib.error.HTTPError as exc:
        where = None
        if 300 <= exc.code < 400:
            where = location_host(exc.headers.get("Location") if exc.headers else None)
        return False, exc.code, _reason(exc), where, exc.code >= 500 or exc.code in RETRY_STATUSES
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # No answer (refused, reset, timed out): another try may reach it; a bad URL will not.
        return False, getattr(exc, "code", None), _reason(exc), None, not isinstance(exc, ValueError)


def send(channel, payload, opener=None, deadline=None, clock=time.monotonic, sleep=time.sleep):
    """Send one alert to one channel: {channel, type, ok, status, reason,
    elapsed_ms, attempts} (and skipped: True below the channel's
    min_severity). Retried while the failure may pass, every attempt and
    pause cut to ``deadline`` (a ``clock`` time; DELIVERY_BUDGET from now by
    default). Never raises."""
    started = clock()
    deadline = started + DELIVERY_BUDGET - BUDGET_MARGIN if deadline is None else deadline
    result = {"channel": channel["name"], "type": channel["type"], "ok": False, "status": None, "reason": ""}
    if below(payload, channel):
        result.update(skipped=True, elapsed_ms=0, attempts=0, reason="%s is below its min_severity %s" % (
            payload.get("severity"), channel["min_severity"]))
        return result
    opener = opener or no_redirect_opener()
    try:
        request = _request(channel, payload)
    except ValueError as exc:
        result.update(reason=_reason(exc), elapsed_ms=0, attempts=0)
        return result
    attempts = 0
    while True:
        attempts += 1
        # A retry starts only with MIN_ATTEMPT left (below), so only a first attempt begun late can pass the deadline.
        timeout = min(channel["timeout"], max(deadline - clock(), MIN_ATTEMPT))
        ok, status, reason, where, again = _attempt(opener, request, timeout)
        result.update(ok=ok, status=status, reason=reason)
        if where:
            result["location_host"] = where
        if ok or not again or attempts > channel.get("retries", DEFAULT_RETRIES):
            break
        pause = min(BACKOFF * 2 ** (attempts - 1), BACKOFF_CAP)
        if clock() + pause + MIN_ATTEMPT > deadline:
            break
        sleep(pause)
    result["attempts"] = attempts
    if not ok and attempts > 1:
        result["reason"] = "%s, after %d attempts" % (reason, attempts)
    result["elapsed_ms"] = int((clock() - started) * 1000)
    return result


def send_all(configured, payload, opener=None, budget=DELIVERY_BUDGET):
    """Send to every channel at once, all of it within ``budget`` seconds;
    [send result] in the channels' order. A channel's failure is in its
    result, nothing more; one that has not answered by then is "no answer
    within the budget" (a name lookup, which no timeout bounds, can hang)."""
    started = time.monotonic()
    deadline = started + max(budget - BUDGET_MARGIN, MIN_ATTEMPT)
    results = [None] * len(configured)

    def one(index, channel):
        results[index] = send(channel, payload, opener, deadline=deadline)

    threads = [threading.Thread(target=one, args=(i, c), name="alert-%s" % c["name"], daemon=True)
               for i, c in enumerate(configured)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, started + budget - time.monotonic()))
    out = list(results)
    for index, channel in enumerate(configured):
        if out[index] is None:
            out[index] = {"channel": channel["name"], "type": channel["type"], "ok": False, "status": None,
                          "reason": "no answer within the %s s delivery budget" % _fmt(budget),
                          "elapsed_ms": int(budget * 1000), "attempts": None}
    return out


def _fmt(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")


def failures_text(results):
    """'webhook ops (timed out), slack launch-room (HTTP 500)', or ''."""
    return ", ".join("%s %s (%s)" % (r["type"], r["channel"], r["reason"]) for r in results
                     if not r["ok"] and not r.get("skipped"))


# ---------------------------------------------------------------- what the plays and the guard send

# The events a run sends, one name each: a receiver can rely on them.
EVENTS = tuple(SEVERITY)


def deliver(given, payload, sender=None):
    """(results, problem): ``payload`` sent to every channel of the
    inventory's definitions ``given``. Definitions that cannot be used are
    the ``problem`` (their words name the channel, never its URL); nothing
    raises."""
    try:
        configured = channels(given)
    except ChannelError as exc:
        return [], str(exc)
    if not configured:
        return [], None
    return (sender or send_all)(configured, payload), None


def audit_events(kind, results, problem=None, payload=None):
    """ALERT_SENT / ALERT_FAILED / ALERT_SKIPPED records for the
    audit_record module: the alert, its severity, the channel's name and why
    it failed or was skipped, nothing more."""
    extra = {}
    if payload:
        extra["severity"] = payload.get("severity")
        if payload.get("action") == "resolve":
            extra["action"] = "resolve"
    out = []
    for r in results:
        if r.get("skipped"):
            out.append({"event": "ALERT_SKIPPED", "fields": dict({"alert": kind, "channel": r["channel"],
                                                                  "type": r["type"], "reason": r["reason"]}, **extra)})
        elif r["ok"]:
            fields = dict({"alert": kind, "channel": r["channel"], "type": r["type"], "status": r["status"],
                           "elapsed_ms": r["elapsed_ms"]}, **extra)
            if (r.get("attempts") or 0) > 1:
                fields["attempts"] = r["attempts"]
            out.append({"event": "ALERT_SENT", "fields": fields})
        else:
            fields = dict({"alert": kind, "channel": r["channel"], "type": r["type"], "reason": r["reason"] or "-",
                           "elapsed_ms": r["elapsed_ms"]}, **extra)
            if r.get("status") is not None:
                fields["status"] = r["status"]
            if r.get("location_host"):
                fields["location_host"] = r["location_host"]
            out.append({"event": "ALERT_FAILED", "fields": fields})
    if problem:
        out.append({"event": "ALERT_FAILED", "fields": {"alert": kind, "channel": "-", "type": "-",
                                                        "reason": problem, "elapsed_ms": 0}})
    return out


def report(kind, results, problem=None, payload=None):
    """What the operator sees of one alert, a line or two."""
    if payload and payload.get("action") == "resolve":
        kind = "%s (resolve)" % kind
    if problem:
        return ["alert %s NOT sent: %s; the run goes on" % (kind, problem)]
    if not results:
        return ["alert %s: no channels (nexus_alert_channels is empty), nothing sent" % kind]
    lines = []
    sent = ["%s %s" % (r["type"], r["channel"]) for r in results if r["ok"]]
    if sent:
        lines.append("alert %s sent to %s" % (kind, ", ".join(sent)))
    failed = failures_text(results)
    if failed:
        lines.append("alert %s FAILED on %s; the run goes on" % (kind, failed))
    skipped = ["%s %s (%s)" % (r["type"], r["channel"], r["reason"]) for r in results if r.get("skipped")]
    if skipped:
        lines.append("alert %s skipped on %s" % (kind, ", ".join(skipped)))
    return lines


def switch_state(switch):
    """confirmed, unconfirmed (applied and kept, the gateway did not serve
    it) or not_pulled, for a result of module kill_switch."""
    switch = switch or {}
    if switch.get("confirmed"):
        return "confirmed"
    if switch.get("outcome") == "store_serves_nothing":
        # It asked the gateway, but wrote nothing: a store nobody can parse is not rewritten.
        return "not_pulled"
    # Only a switch that got as far as asking the gateway has seen_text.
    if switch.get("lock") and switch.get("seen_text"):
        return "unconfirmed"
    return "not_pulled"


def switch_event(switch, reason="", host=None, run_id=None, at=None):
    """The kill_switch event for a result of module kill_switch, in the
    switch's own words."""
    switch = switch or {}
    state = switch_state(switch)
    if state == "confirmed":
        text = "emergency switch pulled and confirmed: the gateway serves %s" % switch.get("seen_text")
    elif state == "unconfirmed":
        text = "emergency switch pulled and kept, but the gateway did NOT confirm it: %s" % switch["seen_text"]
    else:
        text = "emergency switch NOT pulled: %s" % (str(switch.get("msg") or "no result").splitlines()[0])
    details = {"state": state, "reason": reason or "-", "switch_run": switch.get("run_id")}
    if switch.get("rollback_script"):
        details["rollback_script"] = switch["rollback_script"]
    return event("kill_switch", "critical", text, host=host, run_id=run_id, details=details, at=at)
