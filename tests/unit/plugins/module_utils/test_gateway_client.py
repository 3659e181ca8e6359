"""The one gateway client (module_utils/gateway.py): what the platform's
flag service answers mean, how a change is confirmed, and what a failure
says. Scripted answers, no network, except for ``fetch`` itself, which is
run against a loopback server."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import gateway
from ansible_collections.nexus_cos.launch.plugins.module_utils.gateway import Answer

URL = "http://gw.test:4000"
FLAGS = [{"name": n, "enabled": n == "FOUNDER_BETA_MODE"} for n in
         ("FOUNDER_BETA_MODE", "PUBLIC_FULL_LAUNCH_MODE", "MARKETPLACE_PHASE2_ENABLED")]


class Script(object):
    """A fetcher answering from a table {(method, path): Answer or [Answer,
    ...]} (a list is served in order, its last answer repeated); anything
    else is Express's 404. Records every request."""

    def __init__(self, table):
        self.table = table
        self.calls = []

    def __call__(self, url, method="GET", timeout=5.0, body=None):
        path = url[len(URL):]
        self.calls.append((method, path))
        answer = self.table.get((method, path))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        return answer if answer is not None else Answer(404, None, "answer is not JSON")

    def count(self, method, path):
        return self.calls.count((method, path))


def serving(mode="founder_beta", flags=FLAGS, phase=0, jurisdiction=False):
    return {
        ("GET", gateway.FLAGS_PATH): Answer(200, {"flags": list(flags), "currentMode": mode}),
        ("GET", gateway.PF_HEALTH_PATHS["marketplace"]): Answer(
            200 if phase else 503, {"service": "marketplace", "status": "active" if phase else "disabled",
                                    "phase": phase, "overlay": True}),
        ("GET", gateway.PF_HEALTH_PATHS["jurisdiction"]): Answer(200 if jurisdiction else 503, {}),
        ("POST", gateway.RELOAD_PATH): Answer(200, {"success": True, "message": "Feature flags reloaded"}),
    }


def client(table):
    script = Script(table)
    return gateway.Gateway(URL, fetcher=script), script


def no_sleep(_seconds):
    pass


# ---------------------------------------------------------------- meaning

def test_access_mode_comes_from_current_mode_of_the_flags_list():
    assert gateway.read_flags(Answer(200, {"flags": FLAGS, "currentMode": "public_full"})) == ("public_full", 3)
    # Keys other gateways might use are not the platform's: not read.
    assert gateway.read_flags(Answer(200, {"flags": FLAGS, "mode": "public_full"})) == (None, 3)
    assert gateway.read_flags(Answer(503, {"flags": FLAGS, "currentMode": "x"})) == (None, None)
    assert gateway.read_flags(Answer(0, None, "connection refused")) == (None, None)


@pytest.mark.parametrize("status, body, phase", [
    (200, {"phase": 3}, 3),
    (200, {"phase": "2"}, 2),
    (503, {"status": "disabled", "phase": 0}, 0),
    (503, None, 0),
    (500, {"phase": 3}, None),
    (200, {"phase": True}, None),
    (0, None, None),
])
def test_marketplace_phase(status, body, phase):
    assert gateway.read_phase(Answer(status, body)) == phase


def test_switch_and_reload_answers():
    assert gateway.read_switch(Answer(200, {})) is True and gateway.read_switch(Answer(503, {})) is False
    assert gateway.read_switch(Answer(404, None)) is None
    assert gateway.reload_done(Answer(200, {"success": True, "message": "Feature flags reloaded"}))
    assert not gateway.reload_done(Answer(200, {"success": False}))
    assert not gateway.reload_done(Answer(500, {"error": "x"}))


def test_served_state_follows_the_flag_semantics():
    store = {"feature_flags": {
        "FOUNDER_BETA_MODE": {"enabled": True},
        "PUBLIC_SOFT_LAUNCH_MODE": {"enabled": True, "requires": ["JURISDICTION_ENGINE_ENABLED"]},
        "JURISDICTION_ENGINE_ENABLED": {"enabled": False},
        "MARKETPLACE_PHASE2_ENABLED": {"enabled": True},
        "MARKETPLACE_PHASE3_ENABLED": {"enabled": True, "requires": ["MARKETPLACE_PHASE2_ENABLED"]},
    }}
    assert gateway.served_state(store) == {"access_mode": "founder_beta", "marketplace_phase": 3,
                                           "jurisdiction": False, "flags": 5}
    store["feature_flags"]["JURISDICTION_ENGINE_ENABLED"]["enabled"] = True
    assert gateway.served_state(store["feature_flags"])["access_mode"] == "public_soft"


# ---------------------------------------------------------------- observing

def test_observe_asks_only_what_it_needs_and_notes_the_launch_endpoint_once():
    gw, script = client(serving(phase=3))
    seen = gw.observe(("access_mode", "marketplace_phase"))
    assert seen["access_mode"] == "founder_beta" and seen["flags"] == 3 and seen["marketplace_phase"] == 3
    assert "jurisdiction" not in seen and script.count("GET", gateway.PF_HEALTH_PATHS["jurisdiction"]) == 0
    assert seen["launch_health"] == "not served (HTTP 404, as the platform's flag service)"
    gw.observe(("access_mode",))
    gw.observe(("access_mode",))
    # The optional endpoint is asked once per client, never again.
    assert script.count("GET", gateway.LAUNCH_HEALTH_PATH) == 1


def test_a_gateway_that_serves_the_launch_endpoint_is_noted_too():
    table = serving()
    table[("GET", gateway.LAUNCH_HEALTH_PATH)] = Answer(200, {"currentMode": "founder_beta"})
    gw, dummy = client(table)
    assert gw.observe(("access_mode",))["launch_health"] == "served, mode founder_beta"


# ---------------------------------------------------------------- confirming

def test_confirm_reloads_then_polls_until_it_serves_the_state():
    table = serving()
    table[("GET", gateway.FLAGS_PATH)] = [Answer(200, {"flags": FLAGS, "currentMode": "founder_beta"}),
                                          Answer(200, {"flags": FLAGS, "currentMode": "public_full"})]
    gw, script = client(table)
    done = gw.confirm({"access_mode": "public_full", "flags": 3}, timeout=5, sleep=no_sleep)
    assert done["reload"] == "HTTP 200" and done["attempts"] == 2
    assert done["seen"]["access_mode"] == "public_full"
    assert script.calls[0] == ("POST", gateway.RELOAD_PATH) and script.count("POST", gateway.RELOAD_PATH) == 1


def test_a_missing_launch_endpoint_costs_no_wait():
    # The platform answers 404 there: the first poll confirms all the same.
    gw, dummy = client(serving(phase=3))
    done = gw.confirm({"access_mode": "founder_beta", "marketplace_phase": 3}, timeout=5, sleep=no_sleep)
    assert done["attempts"] == 1


def test_without_reload_it_only_asks():
    gw, script = client(serving())
    done = gw.confirm({}, timeout=0, reload=False)
    assert done["reload"] == "not asked" and script.count("POST", gateway.RELOAD_PATH) == 0
    # An empty expectation reads everything the gateway serves.
    assert set(done["seen"]) >= {"access_mode", "flags", "marketplace_phase", "jurisdiction"}


def test_a_refused_reload_is_asked_again_at_every_poll():
    table = serving()
    table[("POST", gateway.RELOAD_PATH)] = [Answer(500, {"error": "x"}), Answer(500, {"error": "x"}),
                                            Answer(200, {"success": True})]
    gw, script = client(table)
    done = gw.confirm({"access_mode": "founder_beta"}, timeout=5, sleep=no_sleep)
    assert script.count("POST", gateway.RELOAD_PATH) == 3 and done["attempts"] == 3


def test_a_reload_that_never_takes_is_asked_again_now_and_then():
    gw, script = client(serving(mode="founder_beta"))
    with pytest.raises(gateway.NotConfirmed):
        gw.confirm({"access_mode": "public_full"}, timeout=0.2, interval=0.001, reload_every=4,
                   sleep=no_sleep)
    assert script.count("POST", gateway.RELOAD_PATH) >= 2


def test_not_confirmed_says_what_was_expected_and_what_it_serves():
    gw, dummy = client(serving(mode="founder_beta", phase=0))
    with pytest.raises(gateway.NotConfirmed) as info:
        gw.confirm({"access_mode": "public_full", "marketplace_phase": 3}, timeout=0.01, sleep=no_sleep)
    assert str(info.value) == (
        "gateway http://gw.test:4000 did not confirm access mode public_full, marketplace phase 3 within 0.01 s: "
        "reload HTTP 200; it serves access mode founder_beta, 3 flags (HTTP 200), marketplace phase 0 (HTTP 503)")
    assert info.value.cause == "" and info.value.seen["access_mode"] == "founder_beta"
    assert info.value.summary() == ("reload HTTP 200; access mode founder_beta, 3 flags (HTTP 200), marketplace "
                                    "phase 0 (HTTP 503)")


def test_nothing_answering_is_said_in_words():
    gw, dummy = client({("POST", gateway.RELOAD_PATH): Answer(0, None, "connection refused")})
    with pytest.raises(gateway.NotConfirmed) as info:
        gw.confirm({"access_mode": "founder_beta"}, timeout=0.01, sleep=no_sleep)
    assert str(info.value) == (
        "gateway http://gw.test:4000 did not confirm access mode founder_beta within 0.01 s: the reload was not "
        "accepted (no answer (connection refused)). Nothing answers at the gateway's address (connection "
        "refused): check that the gateway process runs (systemctl status, docker ps) and read its log")


def _no_flags_served():
    table = serving(mode="none", flags=[])
    return client(table)


def test_a_reload_that_succeeds_but_serves_nothing_names_the_unparsable_store(tmp_path):
    store = tmp_path / "feature-flags.json"
    store.write_text('{"feature_flags": {"FOUNDER_BETA_MODE": {"enabled": tru')
    gw, dummy = _no_flags_served()
    with pytest.raises(gateway.NotConfirmed) as info:
        gw.confirm({"access_mode": "founder_beta", "flags": 3}, timeout=0.01, sleep=no_sleep,
                   store_path=str(store))
    message = str(info.value)
    assert message.startswith("gateway http://gw.test:4000 did not confirm access mode founder_beta, 3 flags "
                              "within 0.01 s: reload HTTP 200; it serves access mode none, 0 flags (HTTP 200)")
    assert ("The gateway serves no flags at all (currentMode none, the PF health endpoints 503), although it "
            "answered the reload with success: the platform's flag service does this when it could not parse "
            "the flag store at its last reload; %s does not parse now: invalid JSON" % store) in message
    assert message.endswith("Fix or restore the file, then reload the gateway")


def test_serving_nothing_while_the_store_parses_now_says_reload_again(tmp_path):
    store = tmp_path / "feature-flags.json"
    store.write_text(json.dumps({"feature_flags": {"FOUNDER_BETA_MODE": {"enabled": True}}}))
    gw, dummy = _no_flags_served()
    with pytest.raises(gateway.NotConfirmed) as info:
        gw.confirm({"access_mode": "founder_beta", "flags": 1}, timeout=0.01, reload=False, store_path=str(store))
    assert ("%s parses now, so it was broken when the gateway reread it: reload the gateway again (curl -X POST "
            "<gateway>/api/feature-flags/reload)" % store) in str(info.value)
    assert "although it answered the reload" not in str(info.value)


def test_the_flag_count_alone_catches_a_gateway_serving_nothing():
    # Expecting mode none (no mode flag on) would pass on a gateway that
    # serves nothing at all; the count does not.
    gw, dummy = _no_flags_served()
    with pytest.raises(gateway.NotConfirmed):
        gw.confirm({"access_mode": "none", "flags": 3}, timeout=0.01, sleep=no_sleep)
    assert gateway.mismatch({"access_mode": "none"}, {"access_mode": "none", "flags": 0}) == []


@pytest.mark.parametrize("content, problem", [
    # The service's reading (flag_store.service_problem): Node reads bytes that
    # are not UTF-8 as U+FFFD, which JSON.parse then refuses.
    (None, "cannot be read"),
    (b"\xff\xfe", "invalid JSON"),
    (b"[1, 2]", "the top level is list"),
    (b'{"feature_flags": {}}', "feature_flags is empty"),
    (b'{"feature_flags": {"A": {}}}', None),
    (b'{"feature_flags": {"A": {}, "A": {"enabled": null}}}', None),
])
def test_store_problem(tmp_path, content, problem):
    path = tmp_path / "feature-flags.json"
    if content is not None:
        path.write_bytes(content)
    found = gateway.store_problem(str(path))
    assert (found is None) if problem is None else found.startswith(problem)


# ---------------------------------------------------------------- fetch, for real

@pytest.fixture
def server():
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, status, payload, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802
            seen["headers"] = dict(self.headers)
            if self.path == "/health":
                return self._answer(200, b'{"status":"ok"}')
            self._answer(404, b"<pre>Cannot GET %s</pre>" % self.path.encode(), "text/html")

        def do_PUT(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            seen["body"] = self.rfile.read(length)
            self._answer(200, b'{"success":true}')

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()


def test_fetch_parses_json_and_names_what_is_not(server):
    url, dummy = server
    ok = gateway.fetch(url + "/health")
    assert (ok.status, ok.body, ok.error) == (200, {"status": "ok"}, "")
    # Express's own 404 is an HTML page: a status, no body, no exception.
    missing = gateway.fetch(url + gateway.LAUNCH_HEALTH_PATH)
    assert (missing.status, missing.body, missing.error) == (404, None, "answer is not JSON")


def test_fetch_sends_json_bodies(server):
    url, seen = server
    gateway.fetch(url + "/api/feature-flags/X", "PUT", body={"enabled": True})
    assert json.loads(seen["body"]) == {"enabled": True}


def test_fetch_never_uses_a_proxy(server, monkeypatch):
    url, dummy = server
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert gateway.fetch(url + "/health").status == 200


def test_fetch_reports_nothing_answering():
    answer = gateway.fetch("http://127.0.0.1:9/health", timeout=1)
    assert answer.status == 0 and answer.error == "connection refused"
    assert answer.text() == "no answer (connection refused)"


def test_the_rollback_runtime_carries_the_client():
    # The on-host scripts import it from the snapshot's lib/.
    from ansible_collections.nexus_cos.launch.plugins.module_utils import snapshot
    assert "gateway" in snapshot.RUNTIME_MODULES
    here = os.path.dirname(os.path.abspath(gateway.__file__))
    assert any(path.endswith("gateway.py") for path in snapshot.runtime_files(here))
