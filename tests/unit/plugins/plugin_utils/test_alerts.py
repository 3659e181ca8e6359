"""Alerts (plugin_utils/alerts.py): channel definitions, payloads, and
sending to a real local receiver: a failing channel never raises, never
waits past its timeout, and nothing it reports carries a URL or a token."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.nexus_cos.launch.plugins.plugin_utils import alerts

TOKEN = "s3cr3t-webhook-token-9f2a"


@pytest.fixture
def receiver():
    got = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            if self.path == "/slow":
                time.sleep(2)
            status = 500 if self.path == "/broken" else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1], got
    server.shutdown()
    server.server_close()


def test_webhook_and_slack_payloads_arrive_as_sent(receiver):
    url, got = receiver
    configured = alerts.channels([
        {"name": "ops", "type": "webhook", "url": url + "/hook", "token": TOKEN},
        {"name": "launch-room", "type": "slack", "url": url + "/services/T000/B000/XXX"}])
    payload = alerts.event("launch_end", "info", "global launch applied and confirmed", host="vps1",
                           run_id="20261201T100000Z-abcdef", details={"access_mode": "public_full"}, at=1796119200)
    results = alerts.send_all(configured, payload)
    assert [r["ok"] for r in results] == [True, True]
    got.sort(key=lambda item: item["path"] != "/hook")     # sent at once: either may arrive first
    assert got[0] == {"path": "/hook", "auth": "Bearer " + TOKEN, "body": {
        "source": "nexus_cos.launch", "event": "launch_end", "level": "info", "severity": "low", "action": "trigger",
        "dedup_key": alerts.incident_key("launch_end", "vps1", "20261201T100000Z-abcdef"),
        "text": "global launch applied and confirmed", "host": "vps1", "run_id": "20261201T100000Z-abcdef",
        "at": "2026-12-01T10:00:00Z", "details": {"access_mode": "public_full"}}}
    assert got[1]["body"] == {"text": ":information_source: Nexus COS launch_end on vps1 (run 20261201T100000Z-abcdef): "
                                      "[low] global launch applied and confirmed"}


def test_a_failing_channel_is_reported_not_raised_and_waits_no_longer_than_its_timeout(receiver):
    url, dummy = receiver
    configured = alerts.channels([
        {"name": "broken", "type": "webhook", "url": url + "/broken", "token": TOKEN, "retries": 0},
        {"name": "slow", "type": "webhook", "url": url + "/slow", "timeout": 0.5, "retries": 0},
        {"name": "nowhere", "type": "slack", "url": "http://127.0.0.1:9/hook?token=" + TOKEN, "retries": 0}])
    started = time.monotonic()
    results = alerts.send_all(configured, alerts.event("kill_switch", "critical", "pulled"))
    assert time.monotonic() - started < 2.0
    assert [(r["ok"], r["reason"]) for r in results] == [(False, "HTTP 500"), (False, "timed out"),
                                                         (False, "Connection refused")]
    text = alerts.failures_text(results)
    assert text == "webhook broken (HTTP 500), webhook slow (timed out), slack nowhere (Connection refused)"
    assert TOKEN not in json.dumps(results) and "127.0.0.1" not in json.dumps(results)


@pytest.mark.parametrize("given, message", [
    ("x", "nexus_alert_channels: expected a list"),
    ([{"type": "webhook", "url": "http://a"}], r"nexus_alert_channels\[0\].name: expected a name"),
    ([{"name": "a", "type": "pager", "url": "http://a"}], r"\(a\).type: expected one of webhook, slack, pagerduty, alertmanager"),
    ([{"name": "a", "type": "webhook", "url": "ftp://secret@x"}], r"\(a\).url: expected an http:// or https:// URL "
                                                                  r"\(not shown: it may hold a secret\)"),
    ([{"name": "a", "type": "webhook", "url": "http://a", "timeout": 90}], r"\(a\).timeout: expected seconds"),
    ([{"name": "a", "type": "webhook", "url": "http://a"}, {"name": "a", "type": "slack", "url": "http://b"}],
     "a is used twice"),
    ([{"name": "a", "type": "webhook", "url": "http://a", "secret": "x"}], "unknown key secret"),
])
def test_bad_channels_are_refused_naming_the_channel_never_the_url(given, message):
    with pytest.raises(alerts.ChannelError, match=message) as info:
        alerts.channels(given)
    assert "ftp://secret" not in str(info.value)


def test_no_channels_is_no_alerts():
    assert alerts.channels(None) == [] and alerts.channels([]) == []


# ---------------------------------------------------------------- redirects

def _server(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_and_the_token_never_leaves(code):
    elsewhere = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            elsewhere.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST  # noqa: N815 (a 303 would turn into a GET)

    second = _server(Elsewhere)
    target = "http://127.0.0.1:%d/hook/%s?key=%s" % (second.server_address[1], TOKEN, TOKEN)

    class Redirecting(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(code)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    first = _server(Redirecting)
    try:
        channel = alerts.channels([{"name": "ops", "type": "webhook", "token": TOKEN,
                                    "url": "http://127.0.0.1:%d/alerts" % first.server_address[1]}])[0]
        result = alerts.send(channel, alerts.event("launch_start", "info", "starting"))
        records = alerts.audit_events("launch_start", [result])
        lines = alerts.report("launch_start", [result])
    finally:
        first.shutdown()
        second.shutdown()
    assert elsewhere == []
    assert result["ok"] is False and result["status"] == code
    host = "127.0.0.1:%d" % second.server_address[1]
    assert result["reason"] == "HTTP %d redirect to %s, not followed" % (code, host)
    assert records == [{"event": "ALERT_FAILED", "fields": {
        "alert": "launch_start", "channel": "ops", "type": "webhook", "reason": result["reason"],
        "elapsed_ms": result["elapsed_ms"], "status": code, "location_host": host}}]
    assert lines == ["alert launch_start FAILED on webhook ops (HTTP %d redirect to %s, not followed); the run "
                     "goes on" % (code, host)]
    assert TOKEN not in json.dumps([result, records, lines])


@pytest.mark.parametrize("location, shown", [
    ("https://user:pw@evil.example:8443/x?token=1", "evil.example:8443"),
    ("/relative/path?token=1", "the same host"),
    (None, "unknown"),
    ("http://[::1/", "unknown"),
])
def test_the_location_is_named_by_its_host_only(location, shown):
    assert alerts.location_host(location) == shown


def test_a_switch_that_found_an_unparseable_store_is_not_called_unconfirmed():
    # It reloaded the gateway (lock and seen_text set) but wrote nothing.
    switch = {"lock": "acquired", "seen_text": "access mode none, 0 flags", "confirmed": False,
              "outcome": "store_serves_nothing", "msg": "emergency switch: the flag store is not rewritten: ..."}
    assert alerts.switch_state(switch) == "not_pulled"
    assert "NOT confirm" not in alerts.switch_event(switch)["text"]
