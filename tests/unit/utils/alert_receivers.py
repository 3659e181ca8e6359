"""Local stand-ins for PagerDuty's Events API v2 and Alertmanager's v2 API,
each an http.server on a loopback port in a thread. Each checks every
request against the service's documented schema and answers as the
service does (202 / 400 for PagerDuty, 200 / 400 for Alertmanager), keeps
what it got, and counts pages per dedup key: a trigger opens an incident
(one page) unless one is open for that key, a resolve closes it.

PagerDuty (developer.pagerduty.com, "Send an Alert Event"): POST JSON
``{routing_key (32 characters), event_action: trigger|acknowledge|resolve,
dedup_key (at most 255, required unless trigger), payload (trigger only):
{summary (at most 1024, required), source (required), severity:
critical|error|warning|info (required), timestamp (ISO 8601), component,
group, class (strings), custom_details (object)}, client, client_url,
links, images}``.

Alertmanager (prometheus.io, "Alerts API" and api/v2/openapi.yaml,
postableAlerts): POST /api/v2/alerts, a JSON list of ``{labels (required,
string to string, names [a-zA-Z_][a-zA-Z0-9_]*, alertname expected),
annotations (string to string), startsAt, endsAt (RFC 3339),
generatorURL (a URI)}``; the labels identify an alert, so one with the
same labels and an endsAt in the past is that alert resolved."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")
PD_PAYLOAD_KEYS = ("summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details")
PD_TOP_KEYS = ("routing_key", "event_action", "dedup_key", "payload", "client", "client_url", "links", "images")
AM_ALERT_KEYS = ("labels", "annotations", "startsAt", "endsAt", "generatorURL")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*\Z")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")
URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+\Z")


def pagerduty_problems(event, routing_key=None):
    """What is wrong with one Events API v2 event; [] when nothing."""
    if not isinstance(event, dict):
        return ["the event is not a JSON object"]
    problems = ["unknown field %s" % key for key in sorted(set(event) - set(PD_TOP_KEYS))]
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        problems.append("routing_key: expected a 32 character string")
    elif routing_key is not None and key != routing_key:
        problems.append("routing_key: not this integration's key")
    action = event.get("event_action")
    if action not in PD_ACTIONS:
        problems.append("event_action: expected one of %s" % ", ".join(PD_ACTIONS))
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not 0 < len(dedup) <= 255):
        problems.append("dedup_key: expected a string of 1 to 255 characters")
    if action in ("acknowledge", "resolve") and dedup is None:
        problems.append("dedup_key: required for %s" % action)
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return problems + ["payload: required for trigger, an object"]
        problems += ["payload: unknown field %s" % key for key in sorted(set(payload) - set(PD_PAYLOAD_KEYS))]
        summary = payload.get("summary")
        if not isinstance(summary, str) or not 0 < len(summary) <= 1024:
            problems.append("payload.summary: expected a string of 1 to 1024 characters")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            problems.append("payload.source: expected a non-empty string")
        if payload.get("severity") not in PD_SEVERITIES:
            problems.append("payload.severity: expected one of %s" % ", ".join(PD_SEVERITIES))
        if "timestamp" in payload and not (isinstance(payload["timestamp"], str) and RFC3339.match(payload["timestamp"])):
            problems.append("payload.timestamp: expected an ISO 8601 date and time")
        for name in ("component", "group", "class"):
            if name in payload and not isinstance(payload[name], str):
                problems.append("payload.%s: expected a string" % name)
        if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
            problems.append("payload.custom_details: expected an object")
    elif "payload" in event and event["payload"] is not None and not isinstance(event["payload"], dict):
        problems.append("payload: expected an object")
    return problems


def alertmanager_problems(body):
    """What is wrong with one POST /api/v2/alerts body; [] when nothing."""
    if not isinstance(body, list) or not body:
        return ["the body is not a non-empty JSON list of alerts"]
    problems = []
    for index, alert in enumerate(body):
        where = "alerts[%d]" % index
        if not isinstance(alert, dict):
            problems.append("%s: expected an object" % where)
            continue
        problems += ["%s: unknown field %s" % (where, key) for key in sorted(set(alert) - set(AM_ALERT_KEYS))]
        labels = alert.get("labels")
        if not isinstance(labels, dict) or not labels:
            problems.append("%s.labels: required, a non-empty object" % where)
            labels = {}
        for name in ("labels", "annotations"):
            for key, value in (alert.get(name) or {}).items():
                if not LABEL_NAME.match(key):
                    problems.append("%s.%s: invalid name %r" % (where, name, key))
                if not isinstance(value, str):
                    problems.append("%s.%s.%s: expected a string" % (where, name, key))
        if not labels.get("alertname"):
            problems.append("%s.labels.alertname: expected" % where)
        for name in ("startsAt", "endsAt"):
            if name in alert and not (isinstance(alert[name], str) and RFC3339.match(alert[name])):
                problems.append("%s.%s: expected an RFC 3339 date-time" % (where, name))
        if "generatorURL" in alert and not (isinstance(alert["generatorURL"], str) and URI.match(alert["generatorURL"])):
            problems.append("%s.generatorURL: expected a URI" % where)
    return problems


class _Receiver(object):
    """What one receiver got: ``events`` (valid ones, with when they came,
    on time.monotonic), ``invalid`` (problems), ``pages`` (dedup key ->
    incidents opened), ``resolves`` (dedup key -> incidents closed),
    ``open`` (keys with an open incident)."""

    def __init__(self, fail_first=0, silent=False):
        self.events, self.invalid, self.requests = [], [], []
        self.pages, self.resolves, self.open = {}, {}, set()
        self.fail_first, self.silent = fail_first, silent
        self.lock = threading.Lock()
        self.server = None
        self.url = None

    def _open(self, key):
        if key not in self.open:
            self.open.add(key)
            self.pages[key] = self.pages.get(key, 0) + 1

    def _close(self, key):
        if key in self.open:
            self.open.discard(key)
            self.resolves[key] = self.resolves.get(key, 0) + 1

    def start(self, handle):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                              "raw": raw.decode("utf-8", "replace"), "at": time.monotonic()})
                    if receiver.silent:
                        status, answer = None, None
                    elif receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        status, answer = 503, {"status": "unavailable"}
                    else:
                        status, answer = handle(self.path, raw)
                if status is None:
                    time.sleep(60)      # never answers: the sender's timeout must end it
                    return
                data = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class PagerDutyReceiver(_Receiver):
    """The Events API v2 at ``url + "/v2/enqueue"``."""

    def __init__(self, routing_key, **kwargs):
        super().__init__(**kwargs)
        self.routing_key = routing_key

    def start(self):
        return super().start(self._handle)

    def _handle(self, path, raw):
        if path != "/v2/enqueue":
            return 404, {"status": "not found"}
        try:
            event = json.loads(raw)
        except ValueError:
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": ["not JSON"]}
        problems = pagerduty_problems(event, self.routing_key)
        if problems:
            self.invalid.append(problems)
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": problems}
        self.events.append(dict(event, received=time.monotonic()))
        if event["event_action"] == "trigger":
            self._open(event["dedup_key"])
        elif event["event_action"] == "resolve":
            self._close(event["dedup_key"])
        return 202, {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}


class AlertmanagerReceiver(_Receiver):
    """Alertmanager's v2 API at ``url + "/api/v2/alerts"``; an alert is
    keyed by its labels (``dedup_key`` among them, as sent)."""

    def start(self):
        return super().start(self._handle)

    def _handle(self, path, raw):
        if path != "/api/v2/alerts":
            return 404, {"message": "not found"}
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"message": "not JSON"}
        problems = alertmanager_problems(body)
        if problems:
            self.invalid.append(problems)
            return 400, {"message": "; ".join(problems)}
        for alert in body:
            self.events.append(dict(alert, received=time.monotonic()))
            key = json.dumps(alert["labels"], sort_keys=True)
            if alert.get("endsAt"):
                self._close(key)
            else:
                self._open(key)
        return 200, {}


def silent_port():
    """A loopback port that accepts connections and never answers: (url,
    socket to close)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return "http://127.0.0.1:%d" % listener.getsockname()[1], listener
