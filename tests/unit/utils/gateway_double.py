"""The sandbox's gateway double (sandbox/gateway/nexus_gateway.py, the
platform's flag service contract), run in-process on a loopback port for
tests that need a real gateway to talk to, and a copy of the sandbox's
sample repository (flag store and PF files) for it to serve."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import threading
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

GATEWAY_FILE = os.path.join(ROOT, "sandbox", "gateway", "nexus_gateway.py")
SAMPLE = os.path.join(ROOT, "sandbox", "sample")


def load_double():
    # Test equipment, loaded by path: product code never imports it.
    spec = importlib.util.spec_from_file_location("nexus_gateway_double", GATEWAY_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_repo(directory):
    """A copy of the sample repository: {repo, flag_store, pf_dir}."""
    repo = os.path.join(str(directory), "repo")
    shutil.copytree(SAMPLE, repo)
    return {"repo": repo, "flag_store": os.path.join(repo, "config", "feature-flags.json"),
            "pf_dir": os.path.join(repo, "pfs")}


class Double(object):
    """A running double serving ``flag_store``; ``fault(**knobs)`` writes
    its fault file; ``close()`` stops it."""

    def __init__(self, flag_store, faults_path):
        double = load_double()
        self.flag_store = flag_store
        self.faults_path = faults_path
        self.server = double.GatewayServer(("127.0.0.1", 0), double.Gateway(flag_store, faults_path))
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def enable(self, *names, value=True):
        with open(self.flag_store) as handle:
            document = json.load(handle)
        for name in names:
            document["feature_flags"][name]["enabled"] = value
        with open(self.flag_store, "w") as handle:
            json.dump(document, handle, indent=2)

    def reload(self):
        """POST /api/feature-flags/reload, as an operator would."""
        import urllib.request
        request = urllib.request.Request(self.url + "/api/feature-flags/reload", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def fault(self, **knobs):
        with open(self.faults_path, "w") as handle:
            json.dump(knobs, handle)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
