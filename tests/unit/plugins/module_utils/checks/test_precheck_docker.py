"""Precheck 3 (docker) against a fake host."""

from __future__ import annotations

import json

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.docker import (INSPECT_FORMAT, container_problem,
                                                                                     last_check_output)

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost

INFO = ("docker", "info", "--format", "{{.ServerVersion}}")
PLUGIN = ("docker", "compose", "version", "--short")
V1 = ("docker-compose", "version", "--short")
DB = "nexus-cos-postgres"


def inspect_argv(*names):
    return ("docker", "inspect", "--type", "container", "--format", INSPECT_FORMAT) + names


def state(status="running", exit_code=0, health=None, log_output="", log_exit=0, **extra):
    st = {"Status": status, "Running": status in ("running", "paused", "restarting"),
          "Paused": status == "paused", "Restarting": status == "restarting", "OOMKilled": False,
          "Dead": False, "Pid": 4242, "ExitCode": exit_code, "Error": ""}
    if health:
        st["Health"] = {"Status": health, "FailingStreak": 0 if health == "healthy" else 3,
                        "Log": [{"ExitCode": log_exit, "Output": log_output}] if log_output is not None else []}
    st.update(extra)
    return st


def line(name, st):
    return "/%s %s" % (name, json.dumps(st))


def inspect_answer(**states):
    """docker inspect output for containers given as name=state (None = missing)."""
    out = "".join(line(n.replace("_", "-"), s) + "\n" for n, s in states.items() if s is not None)
    missing = [n.replace("_", "-") for n, s in states.items() if s is None]
    err = "".join("Error: No such container: %s\n" % n for n in missing)
    return (1 if missing else 0, out, err)


HEALTHY = state(health="healthy", log_output="/var/run/postgresql:5432 - accepting connections\n")


def make_host(info=(0, "20.10.24+dfsg1\n", ""), plugin=(1, "", "docker: 'compose' is not a docker command.\n"),
              v1=(0, "1.29.2\n", ""), inspect=None, names=(DB,)):
    commands = {INFO: info, PLUGIN: plugin, V1: v1}
    commands[inspect_argv(*names)] = inspect if inspect is not None else (0, line(DB, HEALTHY) + "\n", "")
    return FakeHost(commands=commands)


def docker(host, severity="error", **params):
    base = {"require_compose": True, "containers": [DB], "timeout": 20}
    return run_checks({"docker": {"severity": severity, "params": dict(base, **params)}}, host)[0]


def test_passes_with_compose_v1_and_healthy_container():
    host = make_host()
    r = docker(host)
    assert r["status"] == "PASS", r
    assert r["msg"] == "daemon 20.10.24+dfsg1; docker-compose 1.29.2; 1 container running and healthy"
    assert r["details"]["compose"] == {"kind": "v1", "version": "1.29.2", "command": "docker-compose"}
    assert r["details"]["containers"] == {DB: "running, healthy"}
    # every container read with one docker inspect
    assert [c for c in host.calls if c[:2] == ("docker", "inspect")] == [inspect_argv(DB)]


def test_prefers_compose_plugin():
    host = make_host(plugin=(0, "v2.24.5\n", ""))
    r = docker(host)
    assert r["details"]["compose"] == {"kind": "plugin", "version": "2.24.5", "command": "docker compose"}
    assert V1 not in host.calls
    assert "docker compose 2.24.5" in r["msg"]


def test_container_without_healthcheck_only_needs_to_run():
    r = docker(make_host(inspect=(0, line(DB, state()) + "\n", "")))
    assert r["status"] == "PASS"
    assert r["details"]["containers"] == {DB: "running, no healthcheck"}


def test_daemon_down():
    r = docker(make_host(info=(1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                                      "Is the docker daemon running?\n")))
    assert r["status"] == "FAIL"
    assert r["msg"] == ("docker daemon is not answering: Cannot connect to the Docker daemon at "
                        "unix:///var/run/docker.sock. Is the docker daemon running?")
    assert "systemctl start docker" in r["hint"]
    assert "containers" not in r["details"]


def test_daemon_timeout():
    r = docker(make_host(info=(124, "", "")))
    assert r["msg"] == "docker daemon did not answer within 20 s (docker info); expected it to answer"


def test_docker_missing():
    r = docker(FakeHost())
    assert r["status"] == "FAIL"
    assert r["msg"] == ("docker not found; expected the docker CLI and daemon; "
                        "neither docker compose nor docker-compose found")


def test_no_compose_is_an_error_by_default():
    r = docker(make_host(v1=(127, "", "docker-compose: command not found")))
    assert r["status"] == "FAIL"
    assert r["msg"] == "neither docker compose nor docker-compose found"
    assert "precheck_docker_require_compose: false" in r["hint"]
    assert r["details"]["compose"]["kind"] is None
    assert set(r["details"]["compose"]["tried"]) == {"docker compose", "docker-compose"}


def test_no_compose_only_warns_when_not_required():
    r = docker(make_host(v1=(127, "", "docker-compose: command not found")), require_compose=False)
    assert r["status"] == "WARN"
    assert r["msg"] == "neither docker compose nor docker-compose found"


def test_no_compose_plus_stopped_container_still_fails_when_compose_not_required():
    r = docker(make_host(v1=(127, "", ""), inspect=(0, line(DB, state("exited")) + "\n", "")),
               require_compose=False)
    assert r["status"] == "FAIL"


def test_compose_timeout_counts_as_absent():
    r = docker(make_host(v1=(124, "", "")))
    assert r["msg"] == "neither docker compose nor docker-compose found"


def test_stopped_container():
    r = docker(make_host(inspect=(0, line(DB, state("exited", exit_code=0)) + "\n", "")))
    assert r["status"] == "FAIL"
    assert r["msg"] == "container nexus-cos-postgres is not running (exited 0); expected running"
    assert "docker start nexus-cos-postgres" in r["hint"]
    assert r["details"]["containers"] == {DB: "exited 0, no healthcheck"}


def test_restarting_paused_and_oom_killed():
    assert container_problem("db", state("restarting", exit_code=1))[0] == \
        "container db is not running (restarting, last exit 1); expected running"
    assert container_problem("db", state("paused"))[0] == "container db is not running (paused); expected running"
    assert container_problem("db", state("exited", exit_code=137, OOMKilled=True))[0] == \
        "container db is not running (exited 137, OOM killed); expected running"
    assert container_problem("db", state("created"))[0] == "container db is not running (created); expected running"


def test_unhealthy_container_shows_the_last_check():
    sick = state(health="unhealthy", log_output="/var/run/postgresql:5432 - no response\n", log_exit=2)
    r = docker(make_host(inspect=(0, line(DB, sick) + "\n", "")))
    assert r["status"] == "FAIL"
    assert r["msg"] == ("container nexus-cos-postgres is unhealthy (health: unhealthy, "
                        "last check: /var/run/postgresql:5432 - no response); expected healthy")
    assert "State.Health" in r["hint"]


def test_starting_container_is_not_healthy_yet():
    r = docker(make_host(inspect=(0, line(DB, state(health="starting", log_output=None)) + "\n", "")))
    assert r["msg"] == ("container nexus-cos-postgres is not healthy yet (health: starting, "
                        "last check: none yet); expected healthy")


def test_last_check_output_is_the_tail_line_capped():
    assert last_check_output({"Log": [{"Output": "a\n\nlast   line  \n"}]}) == "last line"
    assert last_check_output({"Log": [{"Output": "x" * 500}]}) == "x" * 120
    assert last_check_output({"Log": [{"ExitCode": 1, "Output": ""}]}) == "exit 1, no output"


def test_podman_healthcheck_key():
    st = state()
    st["Healthcheck"] = {"Status": "unhealthy", "Log": []}
    assert container_problem("db", st)[0] == \
        "container db is unhealthy (health: unhealthy, last check: none yet); expected healthy"


def test_missing_running_and_unhealthy_containers_are_each_named():
    names = ("web", DB, "cache")
    sick = state(health="unhealthy", log_output="PONG? no\n")
    host = make_host(names=names, inspect=inspect_answer(web=state(), nexus_cos_postgres=sick, cache=None))
    r = docker(host, containers=list(names))
    assert r["status"] == "FAIL"
    assert r["msg"] == ("container nexus-cos-postgres is unhealthy (health: unhealthy, last check: PONG? no); "
                        "expected healthy; container cache does not exist; expected running")
    assert r["hint"].index("create cache") < r["hint"].index("State.Health")
    assert r["details"]["containers"] == {"web": "running, no healthcheck", DB: "running, unhealthy",
                                          "cache": "missing"}


def test_all_missing():
    r = docker(make_host(inspect=(1, "", "Error: No such container: nexus-cos-postgres\n")))
    assert r["msg"] == "container nexus-cos-postgres does not exist; expected running"
    assert "precheck_docker_containers" in r["hint"]


def test_inspect_failure_keeps_other_findings():
    r = docker(make_host(v1=(127, "", ""), inspect=(1, "", "permission denied while trying to connect\n")))
    assert r["msg"] == ("neither docker compose nor docker-compose found; "
                        "docker inspect failed (rc 1): permission denied while trying to connect")


def test_inspect_timeout():
    r = docker(make_host(inspect=(124, "", "")))
    assert r["msg"] == "docker inspect nexus-cos-postgres did not answer within 20 s"


def test_no_containers_expected():
    host = make_host()
    r = docker(host, containers=[])
    assert r["status"] == "PASS" and r["msg"] == "daemon 20.10.24+dfsg1; docker-compose 1.29.2"
    assert not [c for c in host.calls if c[:2] == ("docker", "inspect")]


def test_warn_severity_downgrades():
    r = docker(make_host(inspect=(0, line(DB, state("exited")) + "\n", "")), severity="warn")
    assert r["status"] == "WARN"
