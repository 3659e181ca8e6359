# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Where the contract suite runs.

By default against the sandbox's gateway double, started in this process on
an ephemeral loopback port with a flag store of its own in a temp dir.

NEXUS_GATEWAY_URL=http://HOST:PORT runs it against that gateway instead. Then
only the read-only tests run (GETs, HEADs, the 404s), unless
NEXUS_CONTRACT_FLAG_STORE=/path/to/its/feature-flags.json is given as well:
the tests that change state (PUT, reloads) write that file in place, and each
of them puts the original bytes back and reloads the gateway when it ends.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import threading

import pytest

from gateway_client import GatewayClient, store, store_text

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOUBLE = ROOT / "sandbox" / "gateway" / "nexus_gateway.py"
GATEWAY_URL = os.environ.get("NEXUS_GATEWAY_URL", "").strip()
FLAG_STORE = os.environ.get("NEXUS_CONTRACT_FLAG_STORE", "").strip()

NO_STORE = ("it changes the gateway's state, so it needs the gateway's own flag store: set "
            "NEXUS_CONTRACT_FLAG_STORE=/path/to/its/feature-flags.json (written in place, restored byte for "
            "byte and reloaded afterwards) next to NEXUS_GATEWAY_URL=%s" % GATEWAY_URL)


class Target:
    """The gateway under test, and its flag store when the suite may write it."""

    def __init__(self, client, store_path, description):
        self.client = client
        self.store_path = store_path
        self.description = description


def load_double():
    # The double is a standalone script installed into the sandbox, not a package.
    spec = importlib.util.spec_from_file_location("nexus_gateway_contract_double", DOUBLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checked_store_path():
    if not FLAG_STORE:
        return None
    path = pathlib.Path(FLAG_STORE)
    if not path.is_file() or not os.access(path, os.R_OK | os.W_OK):
        pytest.exit("NEXUS_CONTRACT_FLAG_STORE=%s: expected the gateway's feature-flags.json, a file this user can "
                    "read and write; fix the path or leave the variable out (read-only tests only)" % FLAG_STORE,
                    returncode=4)
    return path


@pytest.fixture(scope="session")
def target(tmp_path_factory):
    if GATEWAY_URL:
        try:
            client = GatewayClient(GATEWAY_URL)
        except ValueError as exc:
            pytest.exit("NEXUS_GATEWAY_URL: %s" % exc, returncode=4)
        yield Target(client, _checked_store_path(), GATEWAY_URL)
        return
    if FLAG_STORE:
        pytest.exit("NEXUS_CONTRACT_FLAG_STORE is only read together with NEXUS_GATEWAY_URL (the in-process double "
                    "has a store of its own); set both, or neither", returncode=4)
    directory = tmp_path_factory.mktemp("contract-gateway")
    store_path = directory / "feature-flags.json"
    store_path.write_bytes(store_text(store(enabled=("FOUNDER_BETA_MODE",))))
    double = load_double()
    log = []
    gateway = double.Gateway(str(store_path), str(directory / "no-faults.json"), log=lambda *line: log.append(line))
    server = double.GatewayServer(("127.0.0.1", 0), gateway)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Target(GatewayClient("http://127.0.0.1:%d" % server.server_address[1]), store_path,
                     "the gateway double, in process")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def gateway(target):
    return target.client


class FlagStore:
    """The gateway's flag store, for a test that changes state."""

    def __init__(self, path, client):
        self.path = path
        self.client = client

    def write(self, content):
        """Replace the file's content in place (owner and mode stay), without telling the gateway."""
        self.path.write_bytes(content if isinstance(content, bytes) else store_text(content))

    def load(self, content):
        """Write the store and have the gateway reread it."""
        self.write(content)
        reply = self.client.reload()
        assert reply.status == 200, "reload after writing %s: %r" % (self.path, reply)

    def read_bytes(self):
        return self.path.read_bytes()


@pytest.fixture
def flag_store(target):
    if target.store_path is None:
        pytest.skip(NO_STORE)
    original = target.store_path.read_bytes()
    handle = FlagStore(target.store_path, target.client)
    try:
        yield handle
    finally:
        target.store_path.write_bytes(original)
        reply = target.client.reload()
    assert target.store_path.read_bytes() == original, "%s was not restored byte for byte" % target.store_path
    assert reply.status == 200, "reload of the restored %s: %r" % (target.store_path, reply)
