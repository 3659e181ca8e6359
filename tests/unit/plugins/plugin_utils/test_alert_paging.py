"""Paging (plugin_utils/alerts.py): the severity of every event, a
channel's min_severity, the PagerDuty Events API v2 and Alertmanager v2
channels checked by local receivers that validate each payload against the
service's documented schema (tests/unit/utils/alert_receivers.py), the dedup
key, and delivery retried inside the critical budget."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import alerts
from ansible_collections.nexus_cos.launch.tests.unit.utils import alert_receivers

ROUTING_KEY = "R0UT1NGKEYpaging00000000000f00d5"     # 32 characters, as PagerDuty's
TOKEN = "am-proxy-token-31c9"


@pytest.fixture
def pd():
    receiver = alert_receivers.PagerDutyReceiver(ROUTING_KEY).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def am():
    receiver = alert_receivers.AlertmanagerReceiver().start()
    yield receiver
    receiver.stop()


def pd_channel(receiver, **more):
    return dict({"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY,
                 "url": receiver.url + "/v2/enqueue"}, **more)


def am_channel(receiver, **more):
    return dict({"name": "am", "type": "alertmanager", "url": receiver.url, "token": TOKEN}, **more)


def everything(*things):
    return json.dumps(things, default=str)


# ---------------------------------------------------------------- severity

def test_every_event_has_a_severity_from_the_one_table():
    assert alerts.EVENTS == tuple(alerts.SEVERITY)
    assert all(len(row) == len(alerts.LEVELS) and set(row) <= set(alerts.SEVERITIES)
               for row in alerts.SEVERITY.values())
    assert alerts.SEVERITIES == ("critical", "high", "medium", "low")
    assert alerts.RESPONSE == {"critical": "page within a minute", "high": "within 5 minutes",
                               "medium": "within 30 minutes", "low": "a ticket"}
    seen = {(kind, level): alerts.event(kind, level, "x")["severity"] for kind in alerts.EVENTS for level in alerts.LEVELS}
    assert seen[("kill_switch", "info")] == seen[("guard_breach", "critical")] == "critical"
    assert seen[("launch_end", "critical")] == "critical" and seen[("automatic_rollback", "info")] == "high"
    assert seen[("gate_refused", "warning")] == "medium" and seen[("launch_start", "info")] == "low"
    assert alerts.switch_event({"confirmed": True, "seen_text": "founder_beta"})["severity"] == "critical"
    with pytest.raises(ValueError, match="alert event 'precheck': expected one of launch_start"):
        alerts.event("precheck", "info", "x")


def test_the_dedup_key_is_one_per_incident_and_made_of_nothing_secret():
    key = alerts.incident_key("guard_breach", "vps1", "20261201T100000Z-aaaaaa")
    assert key == alerts.incident_key("guard_breach", "vps1", "20261201T100000Z-aaaaaa")
    assert key.startswith("nexus-cos-guard-breach-") and len(key) <= 255
    assert len({key, alerts.incident_key("guard_breach", "vps2", "20261201T100000Z-aaaaaa"),
                alerts.incident_key("kill_switch", "vps1", "20261201T100000Z-aaaaaa"),
                alerts.incident_key("guard_breach", "vps1", "20261202T100000Z-bbbbbb")}) == 4
    trigger = alerts.event("guard_breach", "critical", "down", host="vps1", run_id="20261201T100000Z-aaaaaa")
    resolved = alerts.resolve(trigger, "well again", at=1796119260)
    assert trigger["dedup_key"] == resolved["dedup_key"] == key and trigger["action"] == "trigger"
    assert resolved["action"] == "resolve" and resolved["resolved_at"] == "2026-12-01T10:01:00Z"
    assert resolved["at"] == trigger["at"] and resolved["severity"] == "critical"


# ---------------------------------------------------------------- the two services' payloads

def test_pagerduty_and_alertmanager_get_the_documented_shapes():
    channel = alerts.channels([{"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY}])[0]
    assert channel["url"] == "https://events.pagerduty.com/v2/enqueue"
    trigger = alerts.event("gate_refused", "warning", "global launch refused: approvals missing", host="vps1",
                           run_id="r1", details={"activation": "launch_global", "link": "https://ops.example/run/r1"},
                           at=1796119200)
    body = alerts.pagerduty_body(channel, trigger)
    assert alert_receivers.pagerduty_problems(body, ROUTING_KEY) == []
    assert body["event_action"] == "trigger" and body["dedup_key"] == trigger["dedup_key"]
    assert body["payload"]["severity"] == "warning"      # ours medium
    assert body["payload"]["summary"] == "Nexus COS gate_refused on vps1: global launch refused: approvals missing"
    assert (body["payload"]["source"], body["payload"]["class"], body["payload"]["timestamp"]) == (
        "vps1", "gate_refused", "2026-12-01T10:00:00Z")
    assert body["payload"]["custom_details"]["response"] == "within 30 minutes"
    resolved = alerts.pagerduty_body(channel, alerts.resolve(trigger, "over"))
    assert resolved == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": trigger["dedup_key"]}
    assert alert_receivers.pagerduty_problems(resolved, ROUTING_KEY) == []
    assert [alerts.PAGERDUTY_SEVERITY[s] for s in alerts.SEVERITIES] == ["critical", "error", "warning", "info"]

    (alert,) = alerts.alertmanager_body(trigger)
    assert alert_receivers.alertmanager_problems([alert]) == []
    assert alert["labels"] == {"alertname": "NexusCOS_gate_refused", "severity": "medium", "instance": "vps1",
                               "service": "nexus-cos", "event": "gate_refused", "dedup_key": trigger["dedup_key"],
                               "run_id": "r1"}
    assert alert["startsAt"] == "2026-12-01T10:00:00Z" and "endsAt" not in alert
    assert alert["generatorURL"] == "https://ops.example/run/r1"
    (ended,) = alerts.alertmanager_body(alerts.resolve(trigger, "over", at=1796119300))
    assert ended["labels"] == alert["labels"] and ended["endsAt"] == "2026-12-01T10:01:40Z"
    # The checks themselves refuse what the services refuse.
    assert alert_receivers.pagerduty_problems(dict(body, payload=dict(body["payload"], severity="high")))
    assert alert_receivers.alertmanager_problems([{"labels": {"bad-name": "x"}}])


def test_a_critical_event_reaches_each_receiver_within_a_minute_even_beside_a_channel_that_hangs(pd, am):
    hanging, listener = alert_receivers.silent_port()
    try:
        configured = alerts.channels([pd_channel(pd), am_channel(am),
                                      {"name": "slowhook", "type": "webhook", "url": hanging, "timeout": 30,
                                       "retries": 0}])
        started = time.monotonic()
        payload = alerts.event("kill_switch", "critical", "emergency switch pulled", host="vps1", run_id="r1")
        results = alerts.send_all(configured, payload, budget=4.0)
        took = time.monotonic() - started
    finally:
        listener.close()
    assert pd.invalid == [] and am.invalid == []
    assert [r["ok"] for r in results] == [True, True, False] and results[0]["status"] == 202
    assert results[2]["reason"] == "timed out" and took < 4.0
    # Sent at once: the hanging channel held neither receiver back.
    assert pd.events[0]["received"] - started < 2.0 and am.events[0]["received"] - started < 2.0
    assert pd.pages == {payload["dedup_key"]: 1} and len(am.pages) == 1
    assert pd.events[0]["payload"]["severity"] == "critical" and am.events[0]["labels"]["severity"] == "critical"
    assert am.requests[0]["auth"] == "Bearer " + TOKEN
    assert ROUTING_KEY not in everything(results) and TOKEN not in everything(results)


def test_the_same_incident_sent_again_pages_once_and_a_resolve_closes_it(pd, am):
    configured = alerts.channels([pd_channel(pd), am_channel(am)])
    trigger = alerts.event("guard_breach", "critical", "down", host="vps1", run_id="r1")
    for dummy in range(5):
        alerts.send_all(configured, trigger)
    alerts.send_all(configured, alerts.resolve(trigger, "well again"))
    assert pd.invalid == [] and am.invalid == []
    assert pd.pages == {trigger["dedup_key"]: 1} and pd.resolves == {trigger["dedup_key"]: 1} and not pd.open
    assert list(am.pages.values()) == [1] and list(am.resolves.values()) == [1] and not am.open


# ---------------------------------------------------------------- min_severity

def test_a_channel_skips_what_is_below_its_min_severity_and_says_skipped_not_failed(pd, am):
    configured = alerts.channels([pd_channel(pd, min_severity="critical"), am_channel(am, min_severity="medium")])
    assert [c["min_severity"] for c in alerts.channels([am_channel(am)])] == ["low"]    # everything, as before
    low = alerts.event("launch_start", "info", "starting", host="vps1", run_id="r1")
    results = alerts.send_all(configured, low)
    assert pd.requests == [] and am.requests == []
    assert [(r["skipped"], r["ok"], r["reason"]) for r in results] == [
        (True, False, "low is below its min_severity critical"), (True, False, "low is below its min_severity medium")]
    assert alerts.failures_text(results) == ""
    assert alerts.report("launch_start", results, payload=low) == [
        "alert launch_start skipped on pagerduty oncall (low is below its min_severity critical), alertmanager am "
        "(low is below its min_severity medium)"]
    assert [r["event"] for r in alerts.audit_events("launch_start", results, payload=low)] == ["ALERT_SKIPPED"] * 2
    medium = alerts.event("gate_refused", "warning", "refused", host="vps1", run_id="r1")
    results = alerts.send_all(configured, medium)
    assert [r.get("skipped", False) for r in results] == [True, False] and results[1]["ok"]
    assert alerts.report("gate_refused", results, payload=medium) == [
        "alert gate_refused sent to alertmanager am",
        "alert gate_refused skipped on pagerduty oncall (medium is below its min_severity critical)"]
    results = alerts.send_all(configured, alerts.event("kill_switch", "critical", "pulled", host="vps1"))
    assert [r["ok"] for r in results] == [True, True] and len(pd.events) == 1


# ---------------------------------------------------------------- retries inside the budget

def test_a_receiver_that_fails_twice_then_accepts_gets_the_page_on_the_third_attempt():
    flaky = alert_receivers.PagerDutyReceiver(ROUTING_KEY, fail_first=2).start()
    try:
        started = time.monotonic()
        payload = alerts.event("guard_breach", "critical", "down", host="vps1", run_id="r1")
        (result,) = alerts.send_all(alerts.channels([pd_channel(flaky)]), payload)
        took = time.monotonic() - started
    finally:
        flaky.stop()
    assert result["ok"] and result["status"] == 202 and result["attempts"] == 3
    assert len(flaky.requests) == 3 and flaky.pages == {payload["dedup_key"]: 1}
    assert took < alerts.BACKOFF * 3 + 2        # two pauses, 0.5 s and 1 s
    (record,) = alerts.audit_events("guard_breach", [result], payload=payload)
    assert record == {"event": "ALERT_SENT", "fields": {
        "alert": "guard_breach", "channel": "oncall", "type": "pagerduty", "status": 202,
        "elapsed_ms": result["elapsed_ms"], "severity": "critical", "attempts": 3}}


def test_a_receiver_that_never_answers_is_given_up_inside_the_budget():
    hanging, listener = alert_receivers.silent_port()
    try:
        started = time.monotonic()
        (result,) = alerts.send_all(alerts.channels([{"name": "oncall", "type": "pagerduty", "url": hanging,
                                                      "routing_key": ROUTING_KEY, "timeout": 30, "retries": 5}]),
                                    alerts.event("kill_switch", "critical", "pulled"), budget=2.5)
        took = time.monotonic() - started
    finally:
        listener.close()
    assert took < 2.5 and result["ok"] is False and result["reason"].startswith("timed out")
    assert ROUTING_KEY not in everything(result)


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("timeout, retries, answer", [
    (30, 5, "timeout"), (3, 2, "timeout"), (30, 5, 503), (0.1, 5, 503), (7, 5, "timeout")])
def test_the_first_attempt_and_its_retries_end_inside_sixty_seconds(timeout, retries, answer):
    fake = FakeClock()
    opened = []

    class Opener(object):
        """Each attempt costs its whole timeout (no answer) or nothing (503)."""

        def open(self, request, timeout):
            opened.append(timeout)
            if answer == "timeout":
                fake.now += timeout
                raise urllib.error.URLError(socket.timeout("timed out"))
            raise urllib.error.HTTPError(request.full_url, 503, "unavailable", {}, None)

    channel = alerts.channels([{"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY,
                                "timeout": timeout, "retries": retries}])[0]
    started = fake.now
    result = alerts.send(channel, alerts.event("kill_switch", "critical", "pulled"), opener=Opener(),
                         clock=fake.clock, sleep=fake.sleep)
    assert fake.now - started <= alerts.DELIVERY_BUDGET - alerts.BUDGET_MARGIN
    assert result["attempts"] == len(opened) >= 2 and result["ok"] is False
    assert all(t <= timeout for t in opened)
    if answer == 503:
        assert result["attempts"] == retries + 1 and result["reason"] == "HTTP 503, after %d attempts" % (retries + 1)


def test_a_refused_event_is_not_retried():
    fake = FakeClock()
    calls = []

    class Opener(object):
        def open(self, request, timeout):
            calls.append(1)
            raise urllib.error.HTTPError(request.full_url, 400, "invalid event", {}, None)

    channel = alerts.channels([{"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY}])[0]
    result = alerts.send(channel, alerts.event("kill_switch", "critical", "pulled"), opener=Opener(),
                         clock=fake.clock, sleep=fake.sleep)
    assert calls == [1] and result["reason"] == "HTTP 400" and fake.sleeps == []


# ---------------------------------------------------------------- definitions and secrets

@pytest.mark.parametrize("given, message", [
    ([{"name": "p", "type": "pagerduty"}], r"\(p\).routing_key: expected the PagerDuty integration's routing key"),
    ([{"name": "p", "type": "pagerduty", "routing_key": ROUTING_KEY, "token": "x"}],
     r"\(p\): unknown key token; a pagerduty channel takes name, type, timeout, min_severity, retries, routing_key, url"),
    ([{"name": "w", "type": "webhook", "url": "http://a", "routing_key": ROUTING_KEY}],
     r"\(w\): unknown key routing_key; a webhook channel takes"),
    ([{"name": "a", "type": "alertmanager"}], r"\(a\).url: expected an http:// or https:// URL"),
    ([{"name": "a", "type": "alertmanager", "url": "http://a", "min_severity": "urgent"}],
     r"\(a\).min_severity: expected one of critical, high, medium, low, found 'urgent'"),
    ([{"name": "a", "type": "alertmanager", "url": "http://a", "retries": 9}],
     r"\(a\).retries: expected a whole number from 0 to 5, found 9"),
])
def test_bad_paging_channels_are_refused_naming_the_key_never_the_secret(given, message):
    with pytest.raises(alerts.ChannelError, match=message) as info:
        alerts.channels(given)
    assert ROUTING_KEY not in str(info.value)


def test_a_redirect_from_a_pagerduty_channel_never_carries_the_routing_key_elsewhere():
    elsewhere = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            elsewhere.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    second = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=second.serve_forever, daemon=True).start()

    class Redirecting(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(307)     # a 307 resends the body, routing key and all
            self.send_header("Location", "http://127.0.0.1:%d/v2/enqueue" % second.server_address[1])
            self.send_header("Content-Length", "0")
            self.end_headers()

    first = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=first.serve_forever, daemon=True).start()
    try:
        payload = alerts.event("kill_switch", "critical", "pulled")
        results, problem = alerts.deliver([{"name": "oncall", "type": "pagerduty", "routing_key": ROUTING_KEY,
                                            "url": "http://127.0.0.1:%d/v2/enqueue" % first.server_address[1]}],
                                          payload)
        records = alerts.audit_events("kill_switch", results, problem, payload=payload)
        lines = alerts.report("kill_switch", results, problem, payload=payload)
    finally:
        first.shutdown()
        second.shutdown()
    assert elsewhere == [] and problem is None
    assert results[0]["reason"] == "HTTP 307 redirect to 127.0.0.1:%d, not followed" % second.server_address[1]
    assert results[0]["attempts"] == 1
    assert ROUTING_KEY not in everything(results, records, lines)


def test_a_channel_as_the_role_argument_spec_fills_it_is_accepted():
    # The spec gives every option it knows, None when not set.
    filled = {"name": "ops", "type": "webhook", "url": "http://a", "token": None, "routing_key": None,
              "timeout": None, "min_severity": None, "retries": None}
    (channel,) = alerts.channels([filled])
    assert (channel["timeout"], channel["min_severity"], channel["retries"]) == (3.0, "low", 2)
    with pytest.raises(alerts.ChannelError, match="unknown key routing_key"):
        alerts.channels([dict(filled, routing_key=ROUTING_KEY)])
