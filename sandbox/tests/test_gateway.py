# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The sandbox's gateway double beyond the contract: the JavaScript model under
its flag service, the Express 4 details it reproduces, the fault knobs.

The endpoint-by-endpoint contract (DESIGN.md section 3) is tests/contract/,
which runs against this double and against the platform's real service.
Expected texts marked "as Node" were recorded from the real service on
Node 20 with Express 4.22 (NODE_ENV=production).
"""

import gzip
import http.client
import importlib.util
import io
import json
import math
import os
import pathlib
import socket
import threading
import time

import pytest

GATEWAY_FILE = pathlib.Path(__file__).resolve().parents[1] / "gateway" / "nexus_gateway.py"
SAMPLE_FLAG_STORE = pathlib.Path(__file__).resolve().parents[1] / "sample" / "config" / "feature-flags.json"


def load_gateway_module():
    # The gateway is a standalone script installed into the sandbox, not a package.
    spec = importlib.util.spec_from_file_location("nexus_gateway", GATEWAY_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gw = load_gateway_module()


def flag(enabled=False, requires=(), **extra):
    entry = {"enabled": enabled, "description": "test flag", "type": "boolean", "default": False,
             "category": "test", "requires": list(requires) if isinstance(requires, (list, tuple)) else requires}
    entry.update(extra)
    return entry


def store(**flags):
    return {"version": "1.0.0", "updated": "2025-01-01T00:00:00Z", "feature_flags": flags, "access_modes": {}}


class Double:
    """A gateway double over a temp flag store, called without a socket."""

    def __init__(self, tmp_path, content):
        self.flag_store = tmp_path / "feature-flags.json"
        self.faults = tmp_path / "gateway-faults.json"
        self.log = []
        self.write_store(content)
        self.gateway = gw.Gateway(str(self.flag_store), str(self.faults), log=lambda *line: self.log.append(line))
        self.service = self.gateway.service

    def write_store(self, content):
        if isinstance(content, dict):
            content = json.dumps(content, indent=2) + "\n"
        self.flag_store.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    def set_faults(self, faults):
        self.faults.write_text(json.dumps(faults), encoding="utf-8")

    def call(self, method, target, body=None, headers=None):
        """(status, {header: value}, body bytes) as the gateway answers, HEAD body left in."""
        raw = "".join("%s: %s\r\n" % item for item in (headers or {}).items()) + "\r\n"
        parsed = http.client.parse_headers(io.BytesIO(raw.encode("latin-1")))
        data = b"" if body is None else body
        response = self.gateway.answer(gw.Request(method, target, parsed, data, len(data), body is not None))
        return response.status, dict(response.headers), response.body

    def json(self, method, target, value=None):
        body = None if value is None else json.dumps(value).encode()
        status, headers, data = self.call(method, target, body, {"Content-Type": "application/json"} if body else None)
        assert headers.get("Content-Type") == "application/json; charset=utf-8", (status, data)
        return status, json.loads(data)


@pytest.fixture
def double(tmp_path):
    return lambda content: Double(tmp_path, content)


def express_page(message):
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
            "</head>\n<body>\n<pre>%s</pre>\n</body>\n</html>\n" % message).encode()


# --------------------------------------------------------------------------- the JavaScript model


@pytest.mark.parametrize(("number", "text"), [
    (1.0, "1"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"),
    (-0.0, "0"), (0.1 + 0.2, "0.30000000000000004"), (12345678901234567890.0, "12345678901234567000"),
    (123456789012345678901234567890.0, "1.2345678901234568e+29"), (5e-324, "5e-324"), (-1e-7, "-1e-7"),
    (123e-20, "1.23e-18"), (2.0 ** 31, "2147483648"), (math.nan, "NaN"), (-math.inf, "-Infinity"),
])
def test_numbers_print_as_javascript_prints_them(number, text):
    assert gw.js_number_str(number) == text


def test_stringify_orders_keys_and_formats_like_json_stringify():
    value = gw.js_json_parse('{"b":1, "10":2, "2":{"9":1,"a":2,"1":3}, "01":4, "4294967295":5, "4294967294":6}')
    assert gw.js_stringify(value, "  ") == (  # as Node
        '{\n  "2": {\n    "1": 3,\n    "9": 1,\n    "a": 2\n  },\n  "10": 2,\n  "4294967294": 6,\n  "b": 1,\n'
        '  "01": 4,\n  "4294967295": 5\n}')
    value = gw.js_json_parse('{"a": [], "b": {}, "c": [{}], "f": {}}')
    value["d"] = gw.UNDEFINED
    value["f"]["g"] = gw.UNDEFINED
    assert gw.js_stringify(value, "  ") == '{\n  "a": [],\n  "b": {},\n  "c": [\n    {}\n  ],\n  "f": {}\n}'


def test_stringify_numbers_and_strings_like_json_stringify():
    numbers = gw.js_json_parse("[1.0, 1e21, 1e999, -0, 12345678901234567890, 9007199254740993]")
    assert gw.js_stringify(numbers) == "[1,1e+21,null,0,12345678901234567000,9007199254740992]"  # as Node
    text = gw.js_json_parse('"A\\u0000\\u001f\\u007f\\u2028\\ud800\\ud83d\\ude00\\u00e9/\\b\\f\\n\\r\\t\\"\\\\"')
    assert gw.js_stringify(text) == '"A\\u0000\\u001f\x7f\u2028\\ud800\U0001F600\u00e9/\\b\\f\\n\\r\\t\\"\\\\"'


@pytest.mark.parametrize("text", ["NaN", "{\"a\": Infinity}", "[1,]", "\ufeff{}", "{'a': 1}", "01"])
def test_json_parse_refuses_what_javascript_refuses(text):
    with pytest.raises(ValueError):
        gw.js_json_parse(text)


def test_truthiness_and_numbers_follow_javascript():
    assert [gw.truthy(v) for v in (0.0, -0.0, math.nan, "", None, gw.UNDEFINED, False)] == [False] * 7
    assert all(gw.truthy(v) for v in (1.0, "0", "false", {}, gw.JSArray(), True))
    assert [gw.to_number(v) for v in (" 1 ", "0x10", "", None, True, gw.JSArray([2.0]))] == [1, 16, 0, 0, 1, 2]
    assert math.isnan(gw.to_number({})) and math.isnan(gw.to_number("1_0")) and math.isnan(gw.to_number(gw.UNDEFINED))


# --------------------------------------------------------------------------- the flag service


def test_effective_enablement_follows_requires_recursively(double):
    service = double(store(A=flag(True), B=flag(True, ["A"]), C=flag(True, ["B"]), D=flag(True, ["X"]))).service
    assert service.is_enabled("C")
    service.flags["A"]["enabled"] = False
    assert not service.is_enabled("C")
    assert not service.is_enabled("B")
    assert not service.is_enabled("D"), "a requirement on an unknown flag is never met"
    assert not service.is_enabled("NOPE")


def test_a_requires_cycle_is_the_platforms_stack_overflow(double):
    service = double(store(A=flag(True, ["B"]), B=flag(True, ["A"]), C=flag(False, ["C"]))).service
    with pytest.raises(gw.JSRangeError, match="Maximum call stack size exceeded"):
        service.is_enabled("A")
    with pytest.raises(gw.JSRangeError):  # C is off, but enabled is only read after its requirements
        service.is_enabled("C")


def test_a_cycle_behind_an_unmet_requirement_is_never_reached(double):
    service = double(store(A=flag(True, ["B"]), B=flag(True, ["A"]), D=flag(True, ["X", "A"]))).service
    assert service.is_enabled("D") is False


def test_a_long_requires_chain_needs_no_python_recursion(double):
    flags = {"F0": flag(True)}
    flags.update({"F%d" % i: flag(True, ["F%d" % (i - 1)]) for i in range(1, 3000)})
    assert double(store(**flags)).service.is_enabled("F2999") is True


@pytest.mark.parametrize(("enabled", "mode"), [
    ((), "none"),
    (("FOUNDER_BETA_MODE",), "founder_beta"),
    (("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE"), "public_soft"),
    (("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE", "PUBLIC_FULL_LAUNCH_MODE"), "public_full"),
    (("PUBLIC_FULL_LAUNCH_MODE",), "public_full"),
])
def test_current_mode_prefers_the_most_open_mode(double, enabled, mode):
    names = ("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE", "PUBLIC_FULL_LAUNCH_MODE")
    service = double(store(**{name: flag(name in enabled) for name in names})).service
    assert service.get_current_access_mode() == mode


def test_current_mode_ignores_a_mode_whose_requirement_is_off(double):
    service = double(store(PUBLIC_FULL_LAUNCH_MODE=flag(True, ["JURISDICTION_ENGINE_ENABLED"]),
                           JURISDICTION_ENGINE_ENABLED=flag(False), FOUNDER_BETA_MODE=flag(True))).service
    assert service.get_current_access_mode() == "founder_beta"


def test_requires_that_is_not_a_list_behaves_as_on_node(double):
    d = double(store(A=flag(True), S=flag(True, "A"), S2=flag(True, "AB"), N=flag(True, 5),
                     O=flag(True, {"length": 1}), O2=flag(True, {"x": 1})))
    assert d.json("GET", "/api/feature-flags/S/enabled")[1]["enabled"] is True, "a string is walked per character"
    assert d.json("GET", "/api/feature-flags/S2/enabled")[1]["enabled"] is False
    assert d.json("GET", "/api/feature-flags/N/enabled")[1]["enabled"] is True, "a number has no length"
    assert d.json("GET", "/api/feature-flags/O2/enabled")[1]["enabled"] is True
    assert d.call("GET", "/api/feature-flags/O/enabled")[0] == 500, "an object with a length is not iterable"
    # as Node
    assert d.json("PUT", "/api/feature-flags/S2", {"enabled": True}) == (
        400, {"error": "Cannot enable S2: B must be enabled first"})
    assert d.json("PUT", "/api/feature-flags/N", {"enabled": True}) == (
        400, {"error": "this.flags[flagName].requires is not iterable"})


def test_flags_that_are_not_objects_behave_as_on_node(double):
    d = double(store(Str="yes", Arr=[1, 2], Zero=0, Num=7))
    assert d.json("GET", "/api/feature-flags/Str") == (200, {"0": "y", "1": "e", "2": "s", "name": "Str"})
    assert d.json("GET", "/api/feature-flags/Zero") == (404, {"error": "Flag not found"})
    assert d.json("PUT", "/api/feature-flags/Num", {"enabled": True}) == (
        400, {"error": "Cannot create property 'enabled' on number '7'"})
    assert d.json("PUT", "/api/feature-flags/Arr", {"enabled": True})[0] == 200
    assert d.json("GET", "/api/feature-flags/Arr") == (200, {"0": 1, "1": 2, "name": "Arr", "enabled": True})
    assert json.loads(d.flag_store.read_text())["feature_flags"]["Arr"] == [1, 2], "array properties are not saved"


def test_prototype_names_resolve_and_keep_what_put_sets_across_reloads(double):
    d = double(store(A=flag(True), B={"description": "no enabled key"}))
    assert d.json("GET", "/api/feature-flags/toString") == (200, {"name": "toString"})
    assert d.json("GET", "/api/feature-flags/length") == (404, {"error": "Flag not found"})
    assert d.json("PUT", "/api/feature-flags/toString", {"enabled": True}) == (
        200, {"success": True, "flag": "toString", "enabled": True})
    assert "toString" not in d.flag_store.read_text()
    d.json("POST", "/api/feature-flags/reload")
    assert d.json("GET", "/api/feature-flags/toString/enabled")[1]["enabled"] is True
    # Setting enabled on __proto__ sets it on Object.prototype: every flag without its own key inherits it.
    assert d.json("GET", "/api/feature-flags/B/enabled")[1]["enabled"] is False
    d.json("PUT", "/api/feature-flags/__proto__", {"enabled": True})
    assert d.json("GET", "/api/feature-flags/B/enabled")[1]["enabled"] is True
    assert d.json("GET", "/api/feature-flags/B") == (200, {"name": "B", "description": "no enabled key"})
    assert d.json("GET", "/api/feature-flags/%s/enabled" % "NOPE")[1]["enabled"] is False


@pytest.mark.parametrize(("content", "names"), [
    (b"{not json", []),
    (b"", []),
    (b"\xef\xbb\xbf" + json.dumps(store(A=flag(True))).encode(), []),
    (b"null", []),
    (json.dumps({"access_modes": {}}).encode(), []),
    (json.dumps({"feature_flags": [flag(True), {"enabled": True}]}).encode(), ["0", "1"]),
    (json.dumps({"feature_flags": "ab"}).encode(), ["0", "1"]),
    (json.dumps({"feature_flags": 5}).encode(), []),
    (b'{"feature_flags": {"A": {"enabled": NaN}}}', []),
    (b'{"feature_flags": {"A": {"enabled": false}, "A": {"enabled": true}}}', ["A"]),
])
def test_load_takes_what_javascript_makes_of_the_file(double, content, names):
    d = double(content)
    assert [entry["name"] for entry in d.json("GET", "/api/feature-flags")[1]["flags"]] == names


def test_a_store_that_does_not_load_is_logged_with_its_path(double, tmp_path):
    d = double(b"{not json")
    assert d.log[-1][0] == "error" and d.log[-1][1].startswith("Error loading feature flags: ")
    d.flag_store.unlink()
    d.json("POST", "/api/feature-flags/reload")
    assert d.log[-1] == ("error", "Error loading feature flags: ENOENT: no such file or directory, open '%s'"
                         % d.flag_store)
    d.write_store(store(A=flag(True)))
    d.json("POST", "/api/feature-flags/reload")
    assert d.log[-1] == ("info", "Feature flags loaded successfully")


def test_save_writes_json_stringify_in_place(double):
    d = double(b'{"feature_flags": {"b": {"enabled": false, "n": [1.0, 1e21, 0.5]}, "2": {"enabled": true}, '
               b'"caf\xc3\xa9": {}}, "access_modes": 0, "extra": 1}')
    os.chmod(d.flag_store, 0o640)
    inode = d.flag_store.stat().st_ino
    assert d.json("PUT", "/api/feature-flags/b", {"enabled": True})[0] == 200
    text = d.flag_store.read_text(encoding="utf-8")
    updated = json.loads(text)["updated"]
    assert text == (
        '{\n  "version": "1.0.0",\n  "updated": "%s",\n  "feature_flags": {\n    "2": {\n      "enabled": true\n'
        '    },\n    "b": {\n      "enabled": true,\n      "n": [\n        1,\n        1e+21,\n        0.5\n      ]\n'
        '    },\n    "caf\u00e9": {}\n  },\n  "access_modes": {}\n}' % updated)
    assert (d.flag_store.stat().st_ino, d.flag_store.stat().st_mode & 0o777) == (inode, 0o640)


def test_put_without_a_json_body_drops_enabled(double):
    # Express 4 always has req.body (at least {}): enabled is undefined, which JSON.stringify leaves out.
    d = double(store(A=flag(True)))
    status, _headers, body = d.call("PUT", "/api/feature-flags/A")
    assert (status, json.loads(body)) == (200, {"success": True, "flag": "A"})
    assert "enabled" not in json.loads(d.flag_store.read_text())["feature_flags"]["A"]
    assert d.json("GET", "/api/feature-flags/A") == (200, dict({"name": "A"}, **{
        k: v for k, v in flag().items() if k != "enabled"}))


def test_a_failed_save_is_logged_and_the_put_still_succeeds(double):
    d = double(store(A=flag(False)))
    d.flag_store.unlink()
    d.flag_store.mkdir()
    assert d.json("PUT", "/api/feature-flags/A", {"enabled": True}) == (
        200, {"success": True, "flag": "A", "enabled": True})
    assert d.log[-1][1].startswith("Error saving feature flags: EISDIR")
    assert d.json("GET", "/api/feature-flags/A/enabled")[1]["enabled"] is True


def test_sample_flag_store_serves_founder_beta(double):
    d = double(SAMPLE_FLAG_STORE.read_bytes())
    status, body = d.json("GET", "/api/feature-flags")
    assert status == 200 and body["currentMode"] == "founder_beta"
    assert len(body["flags"]) == 9
    assert d.json("GET", "/api/pf/marketplace/health") == (
        503, {"service": "marketplace", "status": "disabled", "phase": 0, "overlay": True})


# --------------------------------------------------------------------------- Express 4 details


def test_json_answers_carry_expresss_headers(double):
    status, headers, body = double(store()).call("GET", "/health")
    assert (status, body) == (200, b'{"status":"ok"}')
    assert list(headers.items()) == [  # as Node
        ("X-Powered-By", "Express"), ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", "15"), ("ETag", 'W/"f-VaSQ4oDUiZblZNAEkkN+sX+q3Sg"')]


def test_a_matching_etag_makes_get_a_304(double):
    d = double(store())
    etag = 'W/"f-VaSQ4oDUiZblZNAEkkN+sX+q3Sg"'
    assert d.call("GET", "/health", headers={"If-None-Match": etag})[0] == 304
    assert d.call("GET", "/health", headers={"If-None-Match": etag.replace("W/", "")})[0] == 304
    assert d.call("GET", "/health", headers={"If-None-Match": etag, "Cache-Control": "no-cache"})[0] == 200
    assert d.call("GET", "/api/pf/creator/health", headers={"If-None-Match": "*"})[0] == 503, "only 2xx can be fresh"


@pytest.mark.parametrize(("target", "message"), [  # as Node
    ("/api/status", "Cannot GET /api/status"),
    ("/nope%20x?y=1", "Cannot GET /nope%20x"),
    ("/a<b>\"c&d'e", "Cannot GET /a%3Cb%3E%22c&amp;d&#39;e"),
    ("/%", "Cannot GET /%25"),
    ("/a{b}|c\\d^e`f", "Cannot GET /a%7Bb%7D|c\\d^e%60f"),
    ("/a#frag", "Cannot GET /a"),
    ("http://example.com/nope", "Cannot GET /nope"),
])
def test_not_found_page_names_the_path_as_express_does(double, target, message):
    status, headers, body = double(store()).call("GET", target)
    assert (status, body) == (404, express_page(message))
    assert headers["Content-Security-Policy"] == "default-src 'none'"


@pytest.mark.parametrize(("method", "target"), [
    ("GET", "/api/feature-flags/%zz"), ("GET", "/api/feature-flags/%E0%A4%A/enabled"),
    ("GET", "/api/feature-flags/%ED%A0%80"), ("DELETE", "/api/feature-flags/%zz"),
])
def test_a_bad_escape_in_a_flag_name_is_a_400(double, method, target):
    assert double(store()).call(method, target)[:3:2] == (400, express_page("Bad Request"))


def test_options_lists_the_methods_of_the_matching_routes(double):
    d = double(store())
    assert d.call("OPTIONS", "/api/feature-flags/reload")[::2] == (200, b"GET,HEAD,POST,PUT")
    assert d.call("OPTIONS", "/api/feature-flags/X")[1]["Allow"] == "GET,HEAD,PUT"
    assert d.call("OPTIONS", "/nope")[0] == 404


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({"Content-Type": "application/json"}, b"{bad", 400),
    ({"Content-Type": "application/json"}, b"true", 400),
    ({"Content-Type": "application/json"}, b"   ", 400),
    ({"Content-Type": "application/json"}, b'{"enabled": false, "pad": "' + b"x" * 102400 + b'"}', 413),
    ({"Content-Type": "application/json; charset=latin1"}, b'{"enabled": false}', 415),
    ({"Content-Type": "application/json; charset=utf-32"}, b'{"enabled": false}', 415),
    ({"Content-Type": "application/json", "Content-Encoding": "br"}, b"x", 415),
    ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"not gzip", 400),
])
def test_body_parser_errors_are_expresss_pages(double, headers, body, status):
    answer = double(store(A=flag(True))).call("PUT", "/api/feature-flags/A", body, headers)
    assert answer[0] == status
    assert answer[2] == express_page(gw.STATUS_TEXT[status])


@pytest.mark.parametrize(("headers", "body"), [
    ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, gzip.compress(b'{"enabled": false}')),
    ({"Content-Type": "application/json; charset=utf-16"}, '{"enabled": false}'.encode("utf-16")),
    ({"Content-Type": "application/json"}, b'\xef\xbb\xbf{"enabled": false}'),
])
def test_bodies_express_decodes(double, headers, body):
    answer = double(store(A=flag(True))).call("PUT", "/api/feature-flags/A", body, headers)
    assert (answer[0], json.loads(answer[2])) == (200, {"success": True, "flag": "A", "enabled": False})


# --------------------------------------------------------------------------- over a socket


@pytest.fixture
def served(tmp_path):
    d = Double(tmp_path, store(A=flag(True), FOUNDER_BETA_MODE=flag(True)))
    server = gw.GatewayServer(("127.0.0.1", 0), d.gateway)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    d.port = server.server_address[1]
    yield d
    server.shutdown()
    server.server_close()


def exchange(port, data, timeout=3.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


@pytest.mark.parametrize("request_bytes", [
    b"get /health HTTP/1.1\r\nHost: x\r\n\r\n",  # methods are upper case
    b"FOO /health HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /h\xe9alth HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PUT /api/feature-flags/A HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
])
def test_requests_nodes_parser_rejects_get_a_bare_400(served, request_bytes):
    assert exchange(served.port, request_bytes) == b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"


def test_connect_is_answered_by_closing(served):
    assert exchange(served.port, b"CONNECT x:80 HTTP/1.1\r\nHost: x\r\n\r\n") == b""


def test_keep_alive_chunked_bodies_and_head(served):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
    try:
        connection.request("PUT", "/api/feature-flags/A", body=iter([b'{"enabled"', b": false}"]),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"success": True, "flag": "A",
                                                                        "enabled": False})
        assert response.getheader("Connection") == "keep-alive"
        assert response.getheader("Keep-Alive") == "timeout=5"
        connection.request("HEAD", "/api/feature-flags/A/enabled")  # same connection
        response = connection.getresponse()
        assert (response.status, response.read(), response.getheader("Content-Length")) == (200, b"", "28")
    finally:
        connection.close()


# --------------------------------------------------------------------------- fault knobs


def test_fault_health_status_is_a_failed_handlers_page(double):
    d = double(store())
    d.set_faults({"health_status": 500})
    status, headers, body = d.call("GET", "/health")
    assert (status, body) == (500, express_page("Internal Server Error"))
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    d.set_faults({"health_status": 503})
    assert d.call("GET", "/health")[::2] == (503, express_page("Service Unavailable"))
    d.set_faults({"health_status": 200})
    assert d.call("GET", "/health")[0] == 200, "a status Express cannot fail with is ignored"
    d.set_faults({})
    assert d.call("GET", "/health")[0] == 200


def test_fault_delay(double):
    d = double(store())
    d.set_faults({"delay_ms": 300})
    started = time.monotonic()
    assert d.call("GET", "/health")[0] == 200
    assert time.monotonic() - started >= 0.3


def test_fault_status_override_rejects_a_path_for_every_method(double):
    d = double(store(MARKETPLACE_PHASE2_ENABLED=flag(True)))
    d.set_faults({"status_overrides": {"/api/pf/marketplace/health": 502, "/api/feature-flags/reload": 403}})
    assert d.call("GET", "/api/pf/marketplace/health")[::2] == (502, express_page("Bad Gateway"))
    assert d.call("HEAD", "/API/pf/marketplace/health/")[0] == 502
    assert d.call("POST", "/api/feature-flags/reload")[::2] == (403, express_page("Forbidden"))
    assert d.call("GET", "/api/pf/jurisdiction/health")[0] == 503
    assert d.call("GET", "/health")[0] == 200


def test_fault_reload_status_answers_an_error_and_does_not_reread(double):
    d = double(store(FOUNDER_BETA_MODE=flag(True)))
    d.write_store(store(FOUNDER_BETA_MODE=flag(True), PUBLIC_FULL_LAUNCH_MODE=flag(True)))
    d.set_faults({"reload_status": 503})
    assert d.call("POST", "/api/feature-flags/reload")[::2] == (503, express_page("Service Unavailable"))
    assert d.json("GET", "/api/feature-flags")[1]["currentMode"] == "founder_beta"


def test_fault_stale_reload_answers_the_usual_success_and_keeps_the_old_state(double):
    d = double(store(FOUNDER_BETA_MODE=flag(True)))
    d.write_store(store(FOUNDER_BETA_MODE=flag(True), PUBLIC_FULL_LAUNCH_MODE=flag(True)))
    d.set_faults({"stale_reload": True})
    assert d.json("POST", "/api/feature-flags/reload") == (200, {"success": True,
                                                                 "message": "Feature flags reloaded"})
    assert d.json("GET", "/api/feature-flags")[1]["currentMode"] == "founder_beta"
    d.set_faults({})
    d.json("POST", "/api/feature-flags/reload")
    assert d.json("GET", "/api/feature-flags")[1]["currentMode"] == "public_full"


def test_broken_fault_file_means_no_faults(double):
    d = double(store())
    d.faults.write_text("{oops")
    assert d.call("GET", "/health")[0] == 200
