"""Behaviour of the sandbox's gateway test double against the API contract.

Each test runs the gateway in-process on an ephemeral loopback port with its
own flag store and fault knob file in a temp dir.
"""

import importlib.util
import json
import pathlib
import threading
import time
import urllib.error
import urllib.request

import pytest

GATEWAY_FILE = pathlib.Path(__file__).resolve().parents[1] / "gateway" / "nexus_gateway.py"
SAMPLE_FLAG_STORE = pathlib.Path(__file__).resolve().parents[1] / "sample" / "config" / "feature-flags.json"


def load_gateway_module():
    # The gateway is a standalone script installed into the sandbox, not a package.
    spec = importlib.util.spec_from_file_location("nexus_gateway", GATEWAY_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nexus_gateway = load_gateway_module()


def flag(enabled=False, requires=(), category="test"):
    return {
        "enabled": enabled,
        "description": "test flag",
        "type": "boolean",
        "default": False,
        "category": category,
        "requires": list(requires),
    }


def store(**flags):
    return {"version": "1.0.0", "updated": "2025-01-01T00:00:00Z", "feature_flags": flags, "access_modes": {}}


class RunningGateway:
    def __init__(self, tmp_path, document):
        self.flag_store = tmp_path / "feature-flags.json"
        self.faults = tmp_path / "gateway-faults.json"
        self.write_store(document)
        self.gateway = nexus_gateway.Gateway(str(self.flag_store), str(self.faults))
        self.server = nexus_gateway.GatewayServer(("127.0.0.1", 0), self.gateway)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def write_store(self, document):
        self.flag_store.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    def set_faults(self, faults):
        self.faults.write_text(json.dumps(faults), encoding="utf-8")

    def request(self, path, method="GET", body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def run_gateway(tmp_path):
    started = []

    def start(document):
        gateway = RunningGateway(tmp_path, document)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


# --- flag semantics, no server -------------------------------------------------


def test_effective_enablement_follows_requires_recursively():
    flags = store(A=flag(True), B=flag(True, ["A"]), C=flag(True, ["B"]), D=flag(True, ["X"]))["feature_flags"]
    assert nexus_gateway.effectively_enabled(flags, "C")
    flags["A"]["enabled"] = False
    assert not nexus_gateway.effectively_enabled(flags, "C")
    assert not nexus_gateway.effectively_enabled(flags, "B")
    assert not nexus_gateway.effectively_enabled(flags, "D"), "a requirement on an unknown flag is never met"
    assert not nexus_gateway.effectively_enabled(flags, "NOPE")


def test_dependency_cycle_counts_as_off():
    flags = store(A=flag(True, ["B"]), B=flag(True, ["A"]))["feature_flags"]
    assert not nexus_gateway.effectively_enabled(flags, "A")


@pytest.mark.parametrize(
    ("enabled", "mode"),
    [
        ((), "none"),
        (("FOUNDER_BETA_MODE",), "founder_beta"),
        (("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE"), "public_soft"),
        (("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE", "PUBLIC_FULL_LAUNCH_MODE"), "public_full"),
        (("PUBLIC_FULL_LAUNCH_MODE",), "public_full"),
    ],
)
def test_current_mode_prefers_the_most_open_mode(enabled, mode):
    names = ("FOUNDER_BETA_MODE", "PUBLIC_SOFT_LAUNCH_MODE", "PUBLIC_FULL_LAUNCH_MODE")
    flags = {name: flag(name in enabled) for name in names}
    assert nexus_gateway.current_mode(flags) == mode


def test_current_mode_ignores_a_mode_whose_requirement_is_off():
    flags = {
        "PUBLIC_FULL_LAUNCH_MODE": flag(True, ["JURISDICTION_ENGINE_ENABLED"]),
        "JURISDICTION_ENGINE_ENABLED": flag(False),
        "FOUNDER_BETA_MODE": flag(True),
    }
    assert nexus_gateway.current_mode(flags) == "founder_beta"


def test_parse_flag_store_names_file_and_key(tmp_path):
    path = tmp_path / "flags.json"
    path.write_text('{"feature_flags": {"A": {"enabled": "yes"}}}')
    with pytest.raises(
        nexus_gateway.FlagStoreError, match=r"flags.json: feature_flags.A.enabled must be true or false"
    ):
        nexus_gateway.parse_flag_store(str(path))
    path.write_text("{broken")
    with pytest.raises(nexus_gateway.FlagStoreError, match="invalid JSON at line 1"):
        nexus_gateway.parse_flag_store(str(path))


# --- the HTTP contract ---------------------------------------------------------


def test_sample_flag_store_serves_founder_beta(run_gateway):
    gateway = run_gateway(json.loads(SAMPLE_FLAG_STORE.read_text()))
    status, body = gateway.request("/api/feature-flags")
    assert status == 200
    assert body["currentMode"] == "founder_beta"
    names = [item["name"] for item in body["flags"]]
    assert len(names) == 9 and "MARKETPLACE_PHASE3_ENABLED" in names
    assert gateway.request("/api/pf/marketplace/health") == (
        503,
        {"service": "marketplace", "status": "inactive", "phase": 0},
    )
    assert gateway.request("/api/pf/jurisdiction/health")[0] == 503
    assert gateway.request("/api/pf/launch/health")[1]["currentMode"] == "founder_beta"


def test_health_and_status(run_gateway):
    gateway = run_gateway(store(FOUNDER_BETA_MODE=flag(True)))
    assert gateway.request("/health") == (200, {"status": "ok", "service": "nexus-cos-gateway"})
    status, body = gateway.request("/api/status")
    assert status == 200
    assert body["status"] == "operational" and body["currentMode"] == "founder_beta"
    assert body["flag_store_error"] is None


def test_single_flag_and_effective_enabled(run_gateway):
    gateway = run_gateway(
        store(
            MARKETPLACE_PHASE2_ENABLED=flag(False),
            MARKETPLACE_PHASE3_ENABLED=flag(True, ["MARKETPLACE_PHASE2_ENABLED"]),
        )
    )
    status, body = gateway.request("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED")
    assert status == 200
    assert body["name"] == "MARKETPLACE_PHASE3_ENABLED" and body["enabled"] is True
    assert body["requires"] == ["MARKETPLACE_PHASE2_ENABLED"]
    assert gateway.request("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED/enabled") == (
        200,
        {"name": "MARKETPLACE_PHASE3_ENABLED", "enabled": False},
    )


def test_unknown_flag_is_404(run_gateway):
    gateway = run_gateway(store())
    assert gateway.request("/api/feature-flags/NOPE")[0] == 404
    assert gateway.request("/api/feature-flags/NOPE/enabled")[0] == 404
    assert gateway.request("/no/such/endpoint")[0] == 404


def test_marketplace_phase_follows_effective_flags(run_gateway):
    gateway = run_gateway(
        store(
            MARKETPLACE_PHASE2_ENABLED=flag(True),
            MARKETPLACE_PHASE3_ENABLED=flag(False, ["MARKETPLACE_PHASE2_ENABLED"]),
        )
    )
    assert gateway.request("/api/pf/marketplace/health") == (
        200,
        {"service": "marketplace", "status": "active", "phase": 2},
    )
    gateway.write_store(
        store(
            MARKETPLACE_PHASE2_ENABLED=flag(True), MARKETPLACE_PHASE3_ENABLED=flag(True, ["MARKETPLACE_PHASE2_ENABLED"])
        )
    )
    assert gateway.request("/api/pf/marketplace/health")[1]["phase"] == 2, "no reread before reload"
    assert gateway.request("/api/feature-flags/reload", method="POST") == (200, {"success": True})
    assert gateway.request("/api/pf/marketplace/health")[1]["phase"] == 3


def test_jurisdiction_health_by_flag(run_gateway):
    gateway = run_gateway(store(JURISDICTION_ENGINE_ENABLED=flag(True)))
    assert gateway.request("/api/pf/jurisdiction/health") == (
        200,
        {"service": "jurisdiction", "status": "active", "enabled": True},
    )


def test_reload_with_broken_file_keeps_old_state(run_gateway):
    gateway = run_gateway(store(FOUNDER_BETA_MODE=flag(True)))
    gateway.flag_store.write_text("{not json", encoding="utf-8")
    status, body = gateway.request("/api/feature-flags/reload", method="POST")
    assert status == 500
    assert body["success"] is False and "invalid JSON" in body["error"]
    assert gateway.request("/api/pf/launch/health")[1]["currentMode"] == "founder_beta"
    assert gateway.request("/api/status")[1]["flag_store_error"] is None


def test_gateway_starts_with_unreadable_store(run_gateway, tmp_path):
    gateway = run_gateway(store())
    gateway.flag_store.unlink()
    gateway2 = nexus_gateway.Gateway(str(gateway.flag_store), str(gateway.faults))
    assert gateway2.flags == {}
    assert "cannot read flag store" in gateway2.load_error


def test_set_flag_refuses_unmet_requires_and_unknown_names(run_gateway):
    gateway = run_gateway(
        store(
            MARKETPLACE_PHASE2_ENABLED=flag(False),
            MARKETPLACE_PHASE3_ENABLED=flag(False, ["MARKETPLACE_PHASE2_ENABLED"]),
        )
    )
    status, body = gateway.request("/api/feature-flags/MARKETPLACE_PHASE3_ENABLED", "POST", {"enabled": True})
    assert status == 409 and "MARKETPLACE_PHASE2_ENABLED" in body["error"]
    assert gateway.request("/api/feature-flags/NOPE", "POST", {"enabled": True})[0] == 404
    assert gateway.request("/api/feature-flags/MARKETPLACE_PHASE2_ENABLED", "POST", {"on": 1})[0] == 400


def test_set_flag_writes_two_space_json(run_gateway):
    gateway = run_gateway(store(MARKETPLACE_PHASE2_ENABLED=flag(False)))
    status, body = gateway.request("/api/feature-flags/MARKETPLACE_PHASE2_ENABLED", "POST", {"enabled": True})
    assert status == 200 and body["flag"]["enabled"] is True
    text = gateway.flag_store.read_text()
    assert text.startswith('{\n  "version": "1.0.0"')
    assert json.loads(text)["feature_flags"]["MARKETPLACE_PHASE2_ENABLED"]["enabled"] is True
    assert gateway.request("/api/pf/marketplace/health")[0] == 200


# --- fault knobs ---------------------------------------------------------------


def test_fault_health_status(run_gateway):
    gateway = run_gateway(store())
    gateway.set_faults({"health_status": 500})
    assert gateway.request("/health") == (500, {"status": "faulted", "service": "nexus-cos-gateway"})
    gateway.set_faults({})
    assert gateway.request("/health")[0] == 200


def test_fault_delay(run_gateway):
    gateway = run_gateway(store())
    gateway.set_faults({"delay_ms": 300})
    started = time.monotonic()
    assert gateway.request("/health")[0] == 200
    assert time.monotonic() - started >= 0.3


def test_fault_status_override(run_gateway):
    gateway = run_gateway(store(MARKETPLACE_PHASE2_ENABLED=flag(True)))
    gateway.set_faults({"status_overrides": {"/api/pf/marketplace/health": 502}})
    assert gateway.request("/api/pf/marketplace/health")[0] == 502
    assert gateway.request("/health")[0] == 200


def test_fault_reload_refused_and_stale(run_gateway):
    gateway = run_gateway(store(FOUNDER_BETA_MODE=flag(True)))
    gateway.write_store(store(FOUNDER_BETA_MODE=flag(True), PUBLIC_FULL_LAUNCH_MODE=flag(True)))
    gateway.set_faults({"reload_status": 503})
    assert gateway.request("/api/feature-flags/reload", method="POST")[0] == 503
    gateway.set_faults({"stale_reload": True})
    assert gateway.request("/api/feature-flags/reload", method="POST") == (200, {"success": True})
    assert gateway.request("/api/pf/launch/health")[1]["currentMode"] == "founder_beta"
    gateway.set_faults({})
    gateway.request("/api/feature-flags/reload", method="POST")
    assert gateway.request("/api/pf/launch/health")[1]["currentMode"] == "public_full"


def test_broken_fault_file_means_no_faults(run_gateway):
    gateway = run_gateway(store())
    gateway.faults.write_text("{oops")
    assert gateway.request("/health")[0] == 200
