"""Precheck 9 (database) against a fake host."""

from __future__ import annotations

import json

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.database import SLOTS_QUERY, parse_slots
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.docker import INSPECT_FORMAT

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost

DB = "nexus-cos-postgres"
INSPECT = ("docker", "inspect", "--type", "container", "--format", INSPECT_FORMAT, DB)
EXEC = ("docker", "exec", "--user", "postgres", DB)
PG_ISREADY = EXEC + ("pg_isready", "-U", "postgres", "-d", "postgres")
PSQL = EXEC + ("psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "postgres", "-tAc", SLOTS_QUERY)
ACCEPTING = (0, "/var/run/postgresql:5432 - accepting connections\n", "")


def state(status="running", health="healthy", output="/var/run/postgresql:5432 - accepting connections\n"):
    st = {"Status": status, "Running": status == "running", "Paused": False, "Restarting": False,
          "OOMKilled": False, "ExitCode": 0 if status == "running" else 137}
    if health:
        st["Health"] = {"Status": health, "Log": [{"ExitCode": 0, "Output": output}]}
    return st


def inspect_ok(st=None):
    return (0, "/%s %s\n" % (DB, json.dumps(st or state())), "")


def make_host(inspect=None, isready=ACCEPTING, psql=(0, "7|100|3\n", "")):
    return FakeHost(commands={INSPECT: inspect or inspect_ok(), PG_ISREADY: isready, PSQL: psql})


def database(host, severity="warn", **params):
    base = {"container": DB, "user": "postgres", "name": "postgres", "exec_user": "postgres",
            "min_free_connections": 10, "timeout": 20}
    return run_checks({"database": {"severity": severity, "params": dict(base, **params)}}, host)[0]


def test_passes_and_records_connection_slots():
    host = make_host()
    r = database(host)
    assert r["status"] == "PASS", r
    assert r["msg"] == ("nexus-cos-postgres running, healthy; accepting connections; "
                        "90 of 97 connection slots free (need 10)")
    assert r["details"]["free_connections"] == 90
    assert r["details"]["max_connections"] == 100
    assert host.calls == [INSPECT, PG_ISREADY, PSQL]


def test_no_password_anywhere():
    host = make_host()
    database(host)
    for argv in host.calls:
        assert not any("password" in a.lower() or a.startswith("PGPASSWORD") or a == "-W" for a in argv)


def test_missing_container():
    r = database(make_host(inspect=(1, "", "Error: No such container: nexus-cos-postgres\n")))
    assert r["status"] == "WARN"  # severity warn by default
    assert r["msg"] == "container nexus-cos-postgres does not exist; expected running"
    assert "nexus_db_container" in r["hint"]


def test_stopped_container_stops_the_check():
    host = make_host(inspect=inspect_ok(state("exited", health="unhealthy")))
    r = database(host, severity="error")
    assert r["status"] == "FAIL"
    assert r["msg"] == "container nexus-cos-postgres is not running (exited 137); expected running"
    assert "docker start nexus-cos-postgres" in r["hint"]
    assert PG_ISREADY not in host.calls


def test_unhealthy_container_goes_on_to_say_why():
    sick = state(health="unhealthy", output="/var/run/postgresql:5432 - no response\n")
    r = database(make_host(inspect=inspect_ok(sick), isready=(2, "/var/run/postgresql:5432 - no response\n", "")))
    assert r["msg"] == ("container nexus-cos-postgres is unhealthy (health: unhealthy, last check: "
                        "/var/run/postgresql:5432 - no response); expected healthy; "
                        "pg_isready in nexus-cos-postgres reports /var/run/postgresql:5432 - no response (rc 2); "
                        "expected accepting connections")


def test_unhealthy_but_answering_still_fails():
    sick = state(health="unhealthy", output="timeout\n")
    r = database(make_host(inspect=inspect_ok(sick)))
    assert r["msg"] == ("container nexus-cos-postgres is unhealthy (health: unhealthy, last check: timeout); "
                        "expected healthy")


def test_pg_isready_rejecting():
    r = database(make_host(isready=(1, "/var/run/postgresql:5432 - rejecting connections\n", "")))
    assert r["msg"] == ("pg_isready in nexus-cos-postgres reports /var/run/postgresql:5432 - rejecting connections "
                        "(rc 1); expected accepting connections")


def test_pg_isready_timeout_and_missing():
    assert database(make_host(isready=(124, "", "")))["msg"] == \
        "pg_isready in nexus-cos-postgres did not answer within 20 s"
    missing = (127, "", 'OCI runtime exec failed: exec failed: unable to start container process: exec: '
                        '"pg_isready": executable file not found in $PATH: unknown\n')
    assert database(make_host(isready=missing))["msg"] == (
        'pg_isready could not run in nexus-cos-postgres (rc 127: OCI runtime exec failed: exec failed: unable to '
        'start container process: exec: "pg_isready": executable file not found in $PATH: unknown)')


def test_psql_authentication_failure():
    r = database(make_host(psql=(2, "", 'psql: error: connection to server on socket '
                                        '"/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  '
                                        'Peer authentication failed for user "postgres"\n')))
    assert r["msg"] == ('psql as postgres on database postgres in nexus-cos-postgres failed (rc 2: psql: error: '
                        'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  '
                        'Peer authentication failed for user "postgres")')
    assert "precheck_database_exec_user" in r["hint"]


def test_psql_missing_and_timeout():
    assert database(make_host(psql=(127, "", "exec: \"psql\": executable file not found\n")))["msg"] == \
        'psql as postgres on database postgres could not run in nexus-cos-postgres (rc 127: exec: "psql": ' \
        'executable file not found)'
    assert database(make_host(psql=(124, "", "")))["msg"] == \
        "psql as postgres on database postgres in nexus-cos-postgres did not answer within 20 s"


def test_psql_unexpected_output():
    r = database(make_host(psql=(0, "hello\n", "")))
    assert r["msg"] == "psql in nexus-cos-postgres answered 'hello'; expected used|max_connections|reserved counts"


def test_too_few_free_slots():
    r = database(make_host(psql=(0, "90|100|3\n", "")), severity="error")
    assert r["status"] == "FAIL"
    assert r["msg"] == ("only 7 free connection slots in nexus-cos-postgres (90 of 100 in use, "
                        "3 reserved for superusers); expected at least 10")
    assert "precheck_database_min_free_connections" in r["hint"]
    assert r["details"]["free_connections"] == 7


def test_free_slot_threshold_is_a_parameter_and_inclusive():
    assert database(make_host(psql=(0, "87|100|3\n", "")))["status"] == "PASS"  # exactly 10 free
    assert database(make_host(psql=(0, "87|100|3\n", "")), min_free_connections=11)["status"] == "WARN"


def test_user_database_and_exec_user_are_parameters():
    exec_ = ("docker", "exec", "--user", "root", DB)
    host = FakeHost(commands={
        INSPECT: inspect_ok(),
        exec_ + ("pg_isready", "-U", "nexus", "-d", "nexus"): ACCEPTING,
        exec_ + ("psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", "nexus", "-d", "nexus", "-tAc", SLOTS_QUERY):
            (0, "1|50|3\n", "")})
    r = database(host, user="nexus", name="nexus", exec_user="root")
    assert r["status"] == "PASS", r


def test_docker_unreachable():
    r = database(make_host(inspect=(1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n")))
    assert r["msg"] == ("docker inspect failed (rc 1): "
                        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")


def test_parse_slots():
    assert parse_slots("3|100|3\n") == (3, 100, 3)
    for bad in ("", "3|100", "a|b|c"):
        with pytest.raises(ValueError):
            parse_slots(bad)
