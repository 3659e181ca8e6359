# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 9: the PostgreSQL container runs and is healthy, accepts
connections, answers a real query, and has connection slots to spare.

Everything goes through ``docker exec`` on the container's local socket as
the container's own OS user, so peer (Debian) and trust (official image)
authentication both work and no password is ever passed or printed."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.docker import (container_problem,
                                                                                     container_summary, first_line,
                                                                                     inspect_containers)

# Only client backends take max_connections slots (background workers and
# WAL senders have their own), and superuser_reserved_connections of them
# are out of reach for the application.
SLOTS_QUERY = ("select count(*) filter (where backend_type = 'client backend'), "
               "current_setting('max_connections')::int, "
               "current_setting('superuser_reserved_connections')::int "
               "from pg_stat_activity")


def exec_argv(ctx, *argv):
    return ["docker", "exec", "--user", ctx.param("exec_user"), ctx.param("container")] + list(argv)


def exec_failure(container, what, rc, out, err, timeout):
    """Message for a docker exec that did not succeed."""
    if rc == 124:
        return "%s in %s did not answer within %s s" % (what, container, timeout)
    detail = first_line(err) or first_line(out) or "no output"
    if rc in (126, 127):
        return "%s could not run in %s (rc %d: %s)" % (what, container, rc, detail)
    return "%s in %s failed (rc %d: %s)" % (what, container, rc, detail)


def parse_slots(out):
    """(used, max_connections, reserved) from psql -tA output "3|100|3"."""
    fields = first_line(out).split("|")
    if len(fields) != 3 or not all(f.strip().isdigit() for f in fields):
        raise ValueError(first_line(out) or "no output")
    return tuple(int(f) for f in fields)


@register
class DatabaseCheck(Check):
    name = "database"
    number = 9
    title = "Database"
    default_severity = "warn"

    def run(self, ctx):
        host = ctx.host
        container = ctx.param("container")
        user = ctx.param("user")
        dbname = ctx.param("name")
        timeout = ctx.param("timeout")
        need = int(ctx.param("min_free_connections"))
        problems, hints = [], []
        evidence = {"container": container}

        state = inspect_containers(host, [container], timeout)[container]
        evidence["state"] = container_summary(state)
        found = container_problem(container, state)
        if found and found[1] != "unhealthy":
            if found[1] == "stopped":
                hint = ("start it: docker start %s; read why it stopped: docker logs --tail 50 %s"
                        % (container, container))
            else:
                hint = ("create it (docker compose up -d in the platform checkout), or set nexus_db_container "
                        "to the database container's name")
            raise CheckFailed(found[0], hint=hint, details=evidence)
        if found:  # running but unhealthy: go on, pg_isready and psql say why
            problems.append(found[0])
            hints.append("read its healthcheck log: docker inspect --format '{{json .State.Health}}' %s" % container)

        rc, out, err = host.command(exec_argv(ctx, "pg_isready", "-U", user, "-d", dbname), timeout=timeout)
        evidence["pg_isready"] = first_line(out) or first_line(err)
        if rc != 0:
            if rc in (1, 2, 3) and first_line(out):
                problems.append("pg_isready in %s reports %s (rc %d); expected accepting connections"
                                % (container, first_line(out), rc))
            else:
                problems.append(exec_failure(container, "pg_isready", rc, out, err, timeout))
            hints.append("read the server log: docker logs --tail 50 %s" % container)
            raise CheckFailed("; ".join(problems), hint="; ".join(hints), details=evidence)

        # -X: no psqlrc may change the output; -tA: bare "used|max|reserved".
        rc, out, err = host.command(
            exec_argv(ctx, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", dbname, "-tAc", SLOTS_QUERY),
            timeout=timeout)
        if rc != 0:
            problems.append(exec_failure(container, "psql as %s on database %s" % (user, dbname),
                                         rc, out, err, timeout))
            hints.append("connect by hand: docker exec -it --user %s %s psql -U %s -d %s; "
                         "set precheck_database_user / precheck_database_exec_user if the role or OS user differs"
                         % (ctx.param("exec_user"), container, user, dbname))
            raise CheckFailed("; ".join(problems), hint="; ".join(hints), details=evidence)
        try:
            used, maximum, reserved = parse_slots(out)
        except ValueError as exc:
            problems.append("psql in %s answered %r; expected used|max_connections|reserved counts"
                            % (container, str(exc)[:120]))
            raise CheckFailed("; ".join(problems), hint="run the query by hand: %s" % SLOTS_QUERY,
                              details=evidence)
        free = maximum - reserved - used
        evidence.update(connections_used=used, max_connections=maximum,
                        superuser_reserved=reserved, free_connections=free, required_free=need)
        if free < need:
            problems.append("only %d free connection slots in %s (%d of %d in use, %d reserved for superusers); "
                            "expected at least %d" % (free, container, used, maximum, reserved, need))
            hints.append("find who holds them (select usename, application_name, state, count(*) from "
                         "pg_stat_activity group by 1,2,3), raise max_connections, or lower "
                         "precheck_database_min_free_connections")
        if problems:
            raise CheckFailed("; ".join(problems), hint="; ".join(hints), details=evidence)
        evidence["summary"] = "%s %s; accepting connections; %d of %d connection slots free (need %d)" % (
            container, evidence["state"], free, maximum - reserved, need)
        return evidence
