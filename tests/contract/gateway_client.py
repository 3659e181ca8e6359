# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What the contract suite needs besides pytest: a plain HTTP client for the
gateway (raw status, headers and bodies, any method) and flag stores to
write.  What a store means is the product's own reading of it,
plugins/module_utils/flag_semantics, so the suite also holds the product's
model to the real service."""

from __future__ import annotations

import http.client
import json
import urllib.parse

# The nine flags of the sandbox's sample store (sandbox/sample/config/feature-flags.json).
FLAG_NAMES = (
    "JURISDICTION_ENGINE_ENABLED",
    "MARKETPLACE_PHASE2_ENABLED",
    "MARKETPLACE_PHASE3_ENABLED",
    "AI_DEALERS_ENABLED",
    "CASINO_FEDERATION_ENABLED",
    "CREATOR_MONETIZATION_ENABLED",
    "FOUNDER_BETA_MODE",
    "PUBLIC_SOFT_LAUNCH_MODE",
    "PUBLIC_FULL_LAUNCH_MODE",
)
# The overlay health endpoints: path -> (service name, the flag that turns it on).
OVERLAY_HEALTH = {
    "/api/pf/jurisdiction/health": ("jurisdiction_engine", "JURISDICTION_ENGINE_ENABLED"),
    "/api/pf/ai-dealers/health": ("ai_dealers", "AI_DEALERS_ENABLED"),
    "/api/pf/federation/health": ("casino_federation", "CASINO_FEDERATION_ENABLED"),
    "/api/pf/creator/health": ("creator_monetization", "CREATOR_MONETIZATION_ENABLED"),
}
MARKETPLACE_HEALTH = "/api/pf/marketplace/health"
RELOAD = "/api/feature-flags/reload"
RELOADED = {"success": True, "message": "Feature flags reloaded"}
# A name no store defines (and no JavaScript object has).
UNKNOWN_FLAG = "NEXUS_CONTRACT_NO_SUCH_FLAG"


class Reply:
    """One answer: status, headers (lower-case names), raw body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    @property
    def json(self):
        assert self.content_type.startswith("application/json"), (
            "expected a JSON answer, got HTTP %d %s: %r" % (self.status, self.content_type, self.body[:200]))
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<HTTP %d %s %r>" % (self.status, self.content_type, self.body[:120])


class GatewayClient:
    """Requests to one gateway base URL, one connection each, no proxies."""

    def __init__(self, base_url, timeout=10.0):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("gateway URL %r: expected http://HOST:PORT" % base_url)
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout

    def request(self, method, path, body=None, headers=None):
        connection_class = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = connection_class(self._host, self._port, timeout=self.timeout)
        try:
            connection.request(method, self._prefix + path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            body = response.read()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            connection.close()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def head(self, path):
        return self.request("HEAD", path)

    def reload(self):
        return self.request("POST", RELOAD)

    def put_json(self, path, value):
        return self.request("PUT", path, body=json.dumps(value).encode("utf-8"),
                            headers={"Content-Type": "application/json"})


# --------------------------------------------------------------------------- stores


def flag(enabled=False, requires=(), description="", category="test", default=False):
    return {
        "enabled": enabled,
        "description": description,
        "type": "boolean",
        "default": default,
        "category": category,
        "requires": list(requires),
    }


def store(enabled=(), requires=None, extra_flags=None):
    """A store shaped like the sample one: the nine flags, ``enabled`` switched on,
    MARKETPLACE_PHASE3 requiring PHASE2 unless ``requires`` says otherwise."""
    requires = {"MARKETPLACE_PHASE3_ENABLED": ["MARKETPLACE_PHASE2_ENABLED"], **(requires or {})}
    flags = {
        name: flag(name in enabled, requires.get(name, ()), description="contract flag %s" % name,
                   category=name.split("_", 1)[0].lower())
        for name in FLAG_NAMES
    }
    flags.update(extra_flags or {})
    return {
        "version": "1.0.0",
        "updated": "2025-03-01T09:00:00Z",
        "feature_flags": flags,
        "access_modes": {
            "founder_beta": {"enabled": True, "features": ["all_casino_games"], "limits": {"wallet_caps": False}},
            "public_full": {"enabled": False, "features": ["all_available_games"], "limits": {}},
        },
    }


def store_text(document):
    """How a person or a tool other than the gateway writes the store: 2-space JSON, final newline."""
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- answers


def express_404(method, path):
    """The body of Express's own 404 page for ``method path``."""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
            "</head>\n<body>\n<pre>Cannot %s %s</pre>\n</body>\n</html>\n" % (method, path)).encode("utf-8")
