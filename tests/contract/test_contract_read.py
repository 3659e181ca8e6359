# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""DESIGN.md section 3, the read-only half: every GET endpoint of the gateway
contract, HEAD, and the paths the platform does not serve.

Whatever store the gateway serves, the answers must agree with each other and
with the flag semantics of section 3, as the product computes them
(flag_semantics) from the served flags."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.flag_semantics import (
    ACCESS_MODE_FLAGS,
    access_mode,
    effective_flags,
    find_cycles,
    marketplace_phase,
    reachable,
    requires_graph,
)
from gateway_client import MARKETPLACE_HEALTH, OVERLAY_HEALTH, UNKNOWN_FLAG, express_404


@pytest.fixture
def served(gateway):
    """The flags the gateway serves, by name, from GET /api/feature-flags."""
    reply = gateway.get("/api/feature-flags")
    assert reply.status == 200, reply
    return {entry["name"]: {k: v for k, v in entry.items() if k != "name"} for entry in reply.json["flags"]}


def near_a_cycle(flags):
    """Names whose evaluation can run into a requires cycle: the platform recurses forever on
    those (see the reload tests), the product counts them as off."""
    graph = requires_graph(flags)
    on_cycles = {name for cycle in find_cycles(flags) for name in cycle}
    return {name for name in graph if name in on_cycles or reachable(graph, name) & on_cycles}


@pytest.fixture
def well_formed(served):
    """The served flags, when no flag that decides an answer below is near a requires cycle."""
    deciding = {name for _mode, name in ACCESS_MODE_FLAGS} | {flag for _service, flag in OVERLAY_HEALTH.values()}
    deciding |= {"MARKETPLACE_PHASE2_ENABLED", "MARKETPLACE_PHASE3_ENABLED"}
    if deciding & near_a_cycle(served):
        pytest.fail("the gateway serves a store where %s can run into a requires cycle; the read-only contract "
                    "assumes a store precheck 7 passes" % ", ".join(sorted(deciding & near_a_cycle(served))))
    return served


# --------------------------------------------------------------------------- GET /health


def test_health_is_the_express_servers_ok(gateway):
    reply = gateway.get("/health")
    assert reply.status == 200
    assert reply.content_type.startswith("application/json")
    assert reply.json == {"status": "ok"}


# --------------------------------------------------------------------------- GET /api/feature-flags


def test_flag_list_is_name_plus_flag_and_the_current_mode(gateway):
    body = gateway.get("/api/feature-flags").json
    assert set(body) == {"flags", "currentMode"}
    assert isinstance(body["flags"], list)
    names = [entry["name"] for entry in body["flags"]]
    assert all(isinstance(name, str) for name in names)
    assert len(names) == len(set(names)), "a name listed twice: %s" % names
    assert body["currentMode"] in [mode for mode, _flag in ACCESS_MODE_FLAGS] + ["none"]


def test_current_mode_is_the_most_open_mode_effectively_on(gateway, well_formed):
    assert gateway.get("/api/feature-flags").json["currentMode"] == access_mode(well_formed)


# --------------------------------------------------------------------------- GET /api/feature-flags/NAME


def test_each_flag_by_name_is_its_list_entry(gateway, served):
    for name, flag in served.items():
        reply = gateway.get("/api/feature-flags/" + name)
        assert reply.status == 200, (name, reply)
        assert reply.json == dict({"name": name}, **flag)


def test_unknown_flag_is_404_flag_not_found(gateway):
    reply = gateway.get("/api/feature-flags/" + UNKNOWN_FLAG)
    assert reply.status == 404
    assert reply.json == {"error": "Flag not found"}


def test_names_are_case_sensitive(gateway, served):
    for name in served:
        if name.lower() not in served:
            assert gateway.get("/api/feature-flags/" + name.lower()).status == 404
            return
    pytest.skip("every served name is lower case")


def test_a_name_every_javascript_object_has_is_not_unknown(gateway):
    # The platform looks names up on a plain object: "constructor" is found on its prototype.
    reply = gateway.get("/api/feature-flags/constructor")
    assert reply.status == 200
    assert reply.json["name"] == "constructor"


# --------------------------------------------------------------------------- GET /api/feature-flags/NAME/enabled


def test_enabled_is_the_effective_state(gateway, served):
    expected = effective_flags(served)
    for name in sorted(set(served) - near_a_cycle(served)):
        reply = gateway.get("/api/feature-flags/%s/enabled" % name)
        assert reply.status == 200, (name, reply)
        assert reply.json == {"name": name, "enabled": expected[name]}


def test_unknown_flag_is_not_enabled_rather_than_404(gateway):
    reply = gateway.get("/api/feature-flags/%s/enabled" % UNKNOWN_FLAG)
    assert reply.status == 200
    assert reply.json == {"name": UNKNOWN_FLAG, "enabled": False}


def test_name_in_the_path_is_percent_decoded(gateway):
    reply = gateway.get("/api/feature-flags/%s%%20X/enabled" % UNKNOWN_FLAG)
    assert reply.json == {"name": UNKNOWN_FLAG + " X", "enabled": False}


# --------------------------------------------------------------------------- overlay health


def test_marketplace_health_follows_phase2_and_phase3(gateway, well_formed):
    phase = marketplace_phase(well_formed)
    reply = gateway.get(MARKETPLACE_HEALTH)
    if phase:
        assert reply.status == 200
        assert reply.json == {"service": "marketplace", "status": "active", "phase": phase, "overlay": True}
    else:
        assert reply.status == 503
        assert reply.json == {"service": "marketplace", "status": "disabled", "phase": 0, "overlay": True}


@pytest.mark.parametrize("path", sorted(OVERLAY_HEALTH))
def test_overlay_health_follows_its_flag(gateway, well_formed, path):
    service, flag_name = OVERLAY_HEALTH[path]
    on = effective_flags(well_formed).get(flag_name, False)
    reply = gateway.get(path)
    assert reply.status == (200 if on else 503)
    assert reply.json == {"service": service, "status": "active" if on else "disabled", "overlay": True}


# --------------------------------------------------------------------------- what the platform does not serve


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/pf/launch/health"),  # the seed's guide lists it; the platform never had it
    ("GET", "/api/status"),
    ("GET", "/api/pf/launch"),
    ("GET", "/api/feature-flags/FOUNDER_BETA_MODE/enabled/extra"),
    ("GET", "/api/feature-flags//enabled"),
    ("POST", "/api/feature-flags"),
    ("POST", "/api/feature-flags/FOUNDER_BETA_MODE"),  # writes are PUT
    ("DELETE", "/api/feature-flags/FOUNDER_BETA_MODE"),
    ("PUT", "/health"),
])
def test_paths_the_platform_lacks_get_expresss_404_page(gateway, method, path):
    reply = gateway.request(method, path)
    assert reply.status == 404
    assert reply.content_type.startswith("text/html")
    assert reply.body == express_404(method, path)


def test_a_get_on_the_reload_path_is_a_flag_lookup(gateway):
    # GET /api/feature-flags/:name matches "reload": an unknown flag, not a reload.
    reply = gateway.get("/api/feature-flags/reload")
    assert (reply.status, reply.json) == (404, {"error": "Flag not found"})


# --------------------------------------------------------------------------- HTTP details every client meets


@pytest.mark.parametrize("path", [
    "/health",
    "/api/feature-flags",
    "/api/feature-flags/FOUNDER_BETA_MODE/enabled",
    "/api/feature-flags/" + UNKNOWN_FLAG,
    MARKETPLACE_HEALTH,
    "/api/pf/launch/health",
])
def test_head_answers_like_get_without_a_body(gateway, path):
    get, head = gateway.get(path), gateway.head(path)
    assert head.status == get.status
    assert head.content_type == get.content_type
    # The length of the body GET would have; Express's 404 page names the method, so HEAD's is its own.
    length = len(express_404("HEAD", path)) if get.body == express_404("GET", path) else len(get.body)
    assert int(head.headers["content-length"]) == length
    assert head.body == b""


@pytest.mark.parametrize(("variant", "path"), [
    ("/api/feature-flags/", "/api/feature-flags"),
    ("/health/", "/health"),
    ("/api/feature-flags/FOUNDER_BETA_MODE/enabled/", "/api/feature-flags/FOUNDER_BETA_MODE/enabled"),
    ("/api/pf/marketplace/health/", MARKETPLACE_HEALTH),
    ("/API/Feature-Flags", "/api/feature-flags"),
    ("/api/PF/Creator/HEALTH", "/api/pf/creator/health"),
    ("/api/feature-flags?verbose=1", "/api/feature-flags"),
])
def test_trailing_slash_case_and_query_string_do_not_matter(gateway, variant, path):
    expected, reply = gateway.get(path), gateway.get(variant)
    assert (reply.status, reply.body) == (expected.status, expected.body)
