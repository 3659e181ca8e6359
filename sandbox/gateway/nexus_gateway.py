#!/usr/bin/env python3
"""Test double of the Nexus COS gateway API (port 4000), for the sandbox VPS.

It implements the flag store semantics and the API contract the product relies
on (docs: DESIGN.md section 3), nothing more, with the standard library only
so it runs on the sandbox's stock python3.

Fault knobs: a JSON file (default /etc/nexus-cos/gateway-faults.json) is read
at every request so a test can break the gateway on purpose without a
restart. Missing file or {} means no faults. Keys:

  delay_ms          int   extra latency added before every answer
  health_status     int   HTTP status of GET /health (body says "faulted")
  status_overrides  {path: int}  fixed status for an exact path (any method)
  reload_status     int   POST /api/feature-flags/reload answers this status
                          and does not reread the file
  stale_reload      bool  reload answers {success: true} but keeps the old
                          state (a gateway that lies about hot reload)
"""

import argparse
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_FLAG_STORE = "/opt/nexus-cos/config/feature-flags.json"
DEFAULT_FAULTS_FILE = "/etc/nexus-cos/gateway-faults.json"
DEFAULT_PORT = 4000
SERVICE_NAME = "nexus-cos-gateway"
VERSION = "1.0.0"

MARKETPLACE_PHASE_FLAGS = ("MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED")
JURISDICTION_FLAG = "JURISDICTION_ENGINE_ENABLED"
# Most open mode first: the first one effectively on is the current mode.
ACCESS_MODE_FLAGS = (
    ("public_full", "PUBLIC_FULL_LAUNCH_MODE"),
    ("public_soft", "PUBLIC_SOFT_LAUNCH_MODE"),
    ("founder_beta", "FOUNDER_BETA_MODE"),
)


class FlagStoreError(Exception):
    """The flag store file cannot be read or does not have the expected shape."""


class FlagRefused(Exception):
    """A flag change the gateway refuses; carries the HTTP status to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def parse_flag_store(path):
    """Read and shape-check the flag store; return the whole document."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise FlagStoreError(f"{path}: cannot read flag store: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise FlagStoreError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise FlagStoreError(f"{path}: expected a JSON object at the top level")
    flags = document.get("feature_flags")
    if not isinstance(flags, dict):
        raise FlagStoreError(f"{path}: key 'feature_flags' must be an object of NAME: {{enabled, requires, ...}}")
    for name, flag in flags.items():
        if not isinstance(flag, dict):
            raise FlagStoreError(f"{path}: feature_flags.{name} must be an object")
        if not isinstance(flag.get("enabled", False), bool):
            raise FlagStoreError(f"{path}: feature_flags.{name}.enabled must be true or false")
        requires = flag.get("requires", [])
        if not isinstance(requires, list) or not all(isinstance(item, str) for item in requires):
            raise FlagStoreError(f"{path}: feature_flags.{name}.requires must be a list of flag names")
    return document


def effectively_enabled(flags, name, _visiting=None):
    """True when NAME is enabled and everything it requires is, recursively.

    Unknown names and dependency cycles count as off: a flag store the gateway
    cannot resolve must never switch a feature on.
    """
    visiting = _visiting if _visiting is not None else set()
    flag = flags.get(name)
    if flag is None or name in visiting or flag.get("enabled") is not True:
        return False
    visiting = visiting | {name}
    return all(effectively_enabled(flags, required, visiting) for required in flag.get("requires", []))


def current_mode(flags):
    for mode, flag_name in ACCESS_MODE_FLAGS:
        if effectively_enabled(flags, flag_name):
            return mode
    return "none"


def read_faults(path):
    """The fault knobs in force right now; a broken knob file means no faults."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            faults = json.load(handle)
    except (OSError, ValueError):
        return {}
    return faults if isinstance(faults, dict) else {}


def write_json_atomically(path, document):
    """Write the flag store the way the gateway does: 2-space indent, temp file, fsync, rename."""
    directory = os.path.dirname(os.path.abspath(path))
    temp_path = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = 0o644
    with open(temp_path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temp_path, mode)
    os.replace(temp_path, path)


class Gateway:
    """State of the gateway: the flag store as last loaded, and where the knobs live."""

    def __init__(self, flag_store_path, faults_path=DEFAULT_FAULTS_FILE):
        self.flag_store_path = flag_store_path
        self.faults_path = faults_path
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._document = {"feature_flags": {}}
        self.loaded_at = None
        self.load_error = None
        try:
            self.reload()
        except FlagStoreError as exc:
            # Come up anyway (the real gateway does): /health answers, the
            # flag endpoints report an empty store until a reload succeeds.
            self.load_error = str(exc)

    @property
    def flags(self):
        with self._lock:
            return self._document["feature_flags"]

    def reload(self):
        """Reread the file; on any error keep the state in force and raise."""
        document = parse_flag_store(self.flag_store_path)
        with self._lock:
            self._document = document
            self.loaded_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.load_error = None

    def set_flag(self, name, enabled):
        """Change one flag in the file and in memory, refusing what the platform refuses."""
        with self._lock:
            flags = self._document["feature_flags"]
            if name not in flags:
                raise FlagRefused(HTTPStatus.NOT_FOUND, f"unknown feature flag: {name}")
            if enabled:
                missing = [req for req in flags[name].get("requires", []) if not effectively_enabled(flags, req)]
                if missing:
                    raise FlagRefused(
                        HTTPStatus.CONFLICT,
                        f"cannot enable {name}: required flags not enabled: {', '.join(missing)}",
                    )
            document = json.loads(json.dumps(self._document))
            document["feature_flags"][name]["enabled"] = enabled
            document["updated"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            write_json_atomically(self.flag_store_path, document)
            self._document = document
            return document["feature_flags"][name]

    def flag_view(self, name):
        return dict({"name": name}, **self.flags[name])


class GatewayHandler(BaseHTTPRequestHandler):
    server_version = "NexusCOSGateway/" + VERSION
    protocol_version = "HTTP/1.1"

    @property
    def gateway(self):
        return self.server.gateway

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by http.server
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    def _answer(self, status, body):
        payload = (json.dumps(body) + "\n").encode("utf-8")
        self.send_response(int(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _dispatch(self, method):
        faults = read_faults(self.gateway.faults_path)
        delay_ms = faults.get("delay_ms")
        if isinstance(delay_ms, (int, float)) and delay_ms > 0:
            time.sleep(delay_ms / 1000.0)
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        overrides = faults.get("status_overrides")
        if isinstance(overrides, dict) and isinstance(overrides.get(path), int):
            return self._answer(overrides[path], {"error": "fault injected", "path": path})
        try:
            route = self._route(method, path, faults)
        except FlagRefused as exc:
            return self._answer(exc.status, {"success": False, "error": str(exc)})
        if route is None:
            return self._answer(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {method} {path}"})
        return self._answer(*route)

    def _route(self, method, path, faults):
        gateway = self.gateway
        parts = path.strip("/").split("/")
        if method == "GET":
            if path == "/health":
                status = faults.get("health_status")
                status = status if isinstance(status, int) else HTTPStatus.OK
                healthy = status == HTTPStatus.OK
                return status, {"status": "ok" if healthy else "faulted", "service": SERVICE_NAME}
            if path == "/api/status":
                return HTTPStatus.OK, {
                    "status": "operational",
                    "service": SERVICE_NAME,
                    "version": VERSION,
                    "currentMode": current_mode(gateway.flags),
                    "uptime_seconds": round(time.monotonic() - gateway.started, 1),
                    "flag_store": gateway.flag_store_path,
                    "flags_loaded_at": gateway.loaded_at,
                    "flag_store_error": gateway.load_error,
                }
            if path == "/api/feature-flags":
                flags = gateway.flags
                return HTTPStatus.OK, {
                    "flags": [gateway.flag_view(name) for name in flags],
                    "currentMode": current_mode(flags),
                }
            if parts[:2] == ["api", "feature-flags"] and len(parts) in (3, 4):
                name = parts[2]
                if name not in gateway.flags:
                    return HTTPStatus.NOT_FOUND, {"error": f"unknown feature flag: {name}"}
                if len(parts) == 3:
                    return HTTPStatus.OK, gateway.flag_view(name)
                if parts[3] == "enabled":
                    return HTTPStatus.OK, {"name": name, "enabled": effectively_enabled(gateway.flags, name)}
                return None
            if path == "/api/pf/marketplace/health":
                flags = gateway.flags
                if any(effectively_enabled(flags, name) for name in MARKETPLACE_PHASE_FLAGS):
                    phase = 3 if effectively_enabled(flags, "MARKETPLACE_PHASE3_ENABLED") else 2
                    return HTTPStatus.OK, {"service": "marketplace", "status": "active", "phase": phase}
                return HTTPStatus.SERVICE_UNAVAILABLE, {"service": "marketplace", "status": "inactive", "phase": 0}
            if path == "/api/pf/jurisdiction/health":
                if effectively_enabled(gateway.flags, JURISDICTION_FLAG):
                    return HTTPStatus.OK, {"service": "jurisdiction", "status": "active", "enabled": True}
                return HTTPStatus.SERVICE_UNAVAILABLE, {
                    "service": "jurisdiction",
                    "status": "inactive",
                    "enabled": False,
                }
            if path == "/api/pf/launch/health":
                mode = current_mode(gateway.flags)
                return HTTPStatus.OK, {"service": "launch", "status": "active", "currentMode": mode, "mode": mode}
            return None
        if method == "POST":
            if path == "/api/feature-flags/reload":
                reload_status = faults.get("reload_status")
                if isinstance(reload_status, int):
                    return reload_status, {"success": False, "error": "fault injected: reload refused"}
                if faults.get("stale_reload") is True:
                    return HTTPStatus.OK, {"success": True}
                try:
                    gateway.reload()
                except FlagStoreError as exc:
                    return HTTPStatus.INTERNAL_SERVER_ERROR, {"success": False, "error": str(exc)}
                return HTTPStatus.OK, {"success": True}
            if parts[:2] == ["api", "feature-flags"] and len(parts) == 3:
                enabled = self._read_enabled_body()
                flag = gateway.set_flag(parts[2], enabled)
                return HTTPStatus.OK, {"success": True, "flag": dict({"name": parts[2]}, **flag)}
            return None
        return None

    def _read_enabled_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
            raise FlagRefused(HTTPStatus.BAD_REQUEST, 'body must be JSON {"enabled": true|false}')
        return body["enabled"]

    def do_GET(self):  # noqa: N802 - name fixed by http.server
        self._dispatch("GET")

    def do_HEAD(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, gateway):
        super().__init__(address, GatewayHandler)
        self.gateway = gateway


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Nexus COS gateway test double")
    parser.add_argument(
        "--flag-store",
        default=os.environ.get("NEXUS_FLAG_STORE", DEFAULT_FLAG_STORE),
        help="feature-flags.json to serve (env NEXUS_FLAG_STORE)",
    )
    parser.add_argument(
        "--faults",
        default=os.environ.get("NEXUS_GATEWAY_FAULTS", DEFAULT_FAULTS_FILE),
        help="fault knob file read at every request (env NEXUS_GATEWAY_FAULTS)",
    )
    parser.add_argument("--host", default=os.environ.get("NEXUS_GATEWAY_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("NEXUS_GATEWAY_PORT", DEFAULT_PORT)))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    gateway = Gateway(args.flag_store, args.faults)
    if gateway.load_error:
        sys.stderr.write(f"warning: {gateway.load_error}\n")
    server = GatewayServer((args.host, args.port), gateway)
    sys.stderr.write(
        f"{SERVICE_NAME} listening on {args.host}:{server.server_address[1]}, flag store {args.flag_store}\n"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
