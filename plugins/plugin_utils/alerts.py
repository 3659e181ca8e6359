# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Alerts to the channels the inventory names (``nexus_alert_channels``),
sent from the controller: launch start and end, each marketplace step, a
refused gate, an automatic rollback, the kill switch and a guard breach.

A channel is ``{name, type: webhook|slack, url, token?, timeout?}``:

* ``webhook``: a JSON POST of the event (``{source, event, level, text,
  host, run_id, at, details}``), with ``Authorization: Bearer <token>`` when
  a token is given;
* ``slack``: a Slack incoming webhook (or a Slack-compatible one), the event
  as ``{"text": ...}``. community.general.slack posts only to hooks.slack.com
  (``https://hooks.<domain>/services/<token>``) with a fixed 10 s timeout, so
  it cannot be pointed at a test receiver or a Slack-compatible gateway, nor
  bounded tighter: the incoming-webhook call is three lines here instead.

No redirect is followed (urllib would follow it with the Authorization
header to the host it names): a 3xx is a failed delivery, reported and
audited with its status and the host it pointed to, never its full URL.

A channel that fails never fails the change and never delays it beyond its
timeout (default 3 s): the failure is returned (and the play audits and
shows it). URLs and tokens are secrets (a Slack webhook URL is a
credential): only a channel's name ever appears in results, messages or the
audit trail.
"""

from __future__ import annotations

import json
import socket
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.nexus_cos.launch.plugins.module_utils import utc_time

TYPES = ("webhook", "slack")
DEFAULT_TIMEOUT = 3.0
LEVELS = ("info", "warning", "critical")
SOURCE = "nexus_cos.launch"


class ChannelError(ValueError):
    """A channel definition that cannot be used; names the channel and key,
    never its URL or token."""


def channels(given):
    """The inventory's channels, checked."""
    if given in (None, "", []):
        return []
    if not isinstance(given, list):
        raise ChannelError("nexus_alert_channels: expected a list of {name, type, url[, token, timeout]}")
    out, names = [], set()
    for index, item in enumerate(given):
        where = "nexus_alert_channels[%d]" % index
        if not isinstance(item, dict):
            raise ChannelError("%s: expected a mapping {name, type, url[, token, timeout]}" % where)
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ChannelError("%s.name: expected a name for the channel (it is what messages show)" % where)
        if name in names:
            raise ChannelError("%s.name: %s is used twice; expected one name per channel" % (where, name))
        names.add(name)
        if item.get("type") not in TYPES:
            raise ChannelError("%s (%s).type: expected one of %s, found %r" % (where, name, ", ".join(TYPES),
                                                                               item.get("type")))
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ChannelError("%s (%s).url: expected an http:// or https:// URL (not shown: it may hold a secret)"
                               % (where, name))
        timeout = item.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 30:
            raise ChannelError("%s (%s).timeout: expected seconds between 0 and 30, found %r" % (where, name, timeout))
        unknown = sorted(set(item) - {"name", "type", "url", "token", "timeout"})
        if unknown:
            raise ChannelError("%s (%s): unknown key %s; expected name, type, url, token, timeout"
                               % (where, name, ", ".join(unknown)))
        out.append({"name": name, "type": item["type"], "url": url, "token": item.get("token"),
                    "timeout": float(timeout)})
    return out


def event(kind, level, text, host=None, run_id=None, details=None, at=None):
    """The payload of one alert."""
    if level not in LEVELS:
        raise ValueError("alert level %r: expected one of %s" % (level, ", ".join(LEVELS)))
    at = time.time() if at is None else at
    return {"source": SOURCE, "event": kind, "level": level, "text": text, "host": host, "run_id": run_id,
            "at": utc_time.iso_utc(at), "details": details or {}}


def slack_text(payload):
    mark = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}[payload["level"]]
    where = " on %s" % payload["host"] if payload.get("host") else ""
    run = " (run %s)" % payload["run_id"] if payload.get("run_id") else ""
    return "%s Nexus COS %s%s%s: %s" % (mark, payload["event"], where, run, payload["text"])


def _request(channel, payload):
    if channel["type"] == "slack":
        body = {"text": slack_text(payload)}
    else:
        body = payload
    headers = {"Content-Type": "application/json", "User-Agent": SOURCE}
    if channel.get("token"):
        headers["Authorization"] = "Bearer %s" % channel["token"]
    return urllib.request.Request(channel["url"], data=json.dumps(body).encode("utf-8"), headers=headers,
                                  method="POST")


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


def send(channel, payload, opener=None):
    """Send one alert to one channel: {channel, ok, status, reason,
    elapsed_ms}. Never raises."""
    opener = opener or no_redirect_opener()
    started = time.monotonic()
    result = {"channel": channel["name"], "type": channel["type"], "ok": False, "status": None, "reason": ""}
    try:
        with opener.open(_request(channel, payload), timeout=channel["timeout"]) as response:
            result["status"] = response.status
            result["ok"] = 200 <= response.status < 300
            if not result["ok"]:
                result["reason"] = "HTTP %d" % response.status
    except (urllib.error.URLError, OSError, ValueError) as exc:
        result["reason"] = _reason(exc)
        result["status"] = getattr(exc, "code", None)
        if isinstance(exc, urllib.error.HTTPError) and 300 <= exc.code < 400:
            result["location_host"] = location_host(exc.headers.get("Location") if exc.headers else None)
    result["elapsed_ms"] = int((time.monotonic() - started) * 1000)
    return result


def send_all(configured, payload, opener=None):
    """Send to every channel; [send result]. A channel's failure is in its
    result, nothing more."""
    return [send(channel, payload, opener) for channel in configured]


def failures_text(results):
    """'webhook ops (timed out), slack launch-room (HTTP 500)', or ''."""
    return ", ".join("%s %s (%s)" % (r["type"], r["channel"], r["reason"]) for r in results if not r["ok"])


# ---------------------------------------------------------------- what the plays and the guard send

# The events a run sends, one name each: a receiver can rely on them.
EVENTS = ("launch_start", "launch_end", "marketplace_step", "gate_refused", "automatic_rollback", "kill_switch",
          "guard_breach")


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


def audit_events(kind, results, problem=None):
    """ALERT_SENT / ALERT_FAILED records for the audit_record module: the
    alert, the channel's name and why it failed, nothing more."""
    out = []
    for r in results:
        if r["ok"]:
            out.append({"event": "ALERT_SENT", "fields": {"alert": kind, "channel": r["channel"], "type": r["type"],
                                                          "status": r["status"], "elapsed_ms": r["elapsed_ms"]}})
        else:
            fields = {"alert": kind, "channel": r["channel"], "type": r["type"], "reason": r["reason"] or "-",
                      "elapsed_ms": r["elapsed_ms"]}
            if r.get("status") is not None:
                fields["status"] = r["status"]
            if r.get("location_host"):
                fields["location_host"] = r["location_host"]
            out.append({"event": "ALERT_FAILED", "fields": fields})
    if problem:
        out.append({"event": "ALERT_FAILED", "fields": {"alert": kind, "channel": "-", "type": "-",
                                                        "reason": problem, "elapsed_ms": 0}})
    return out


def report(kind, results, problem=None):
    """What the operator sees of one alert, a line or two."""
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
