# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Precheck 3: the Docker daemon answers, Compose is available (plugin or
v1), and the expected containers run and, where they have a healthcheck,
are healthy. The container-state reading is shared with precheck 9."""

from __future__ import annotations

import json

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import Check, CheckFailed, register

# Names the container in each line, so a missing container (which docker
# inspect only reports on stderr) cannot shift the lines of the others.
INSPECT_FORMAT = "{{.Name}} {{json .State}}"
TAIL_CHARS = 120


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def inspect_containers(host, names, timeout):
    """{name: State dict, or None when there is no such container} from one
    ``docker inspect`` call. Raises CheckFailed when docker cannot answer."""
    argv = ["docker", "inspect", "--type", "container", "--format", INSPECT_FORMAT] + list(names)
    rc, out, err = host.command(argv, timeout=timeout)
    if rc == 127:
        raise CheckFailed("docker not found; expected the docker CLI to inspect %s" % ", ".join(names),
                          hint="install docker (apt-get install docker.io)")
    if rc == 124:
        raise CheckFailed("docker inspect %s did not answer within %s s" % (" ".join(names), timeout),
                          hint="check the daemon: systemctl status docker; journalctl -u docker -n 50")
    states = {}
    for line in out.splitlines():
        name, dummy, state = line.strip().partition(" ")
        if not state:
            continue
        try:
            states[name.lstrip("/")] = json.loads(state)
        except ValueError:
            raise CheckFailed("docker inspect printed a state that is not JSON for %s: %s"
                              % (name.lstrip("/"), state[:TAIL_CHARS]),
                              hint="run docker inspect %s by hand" % name.lstrip("/"))
    # rc 1 with "No such container" on stderr is how docker reports a
    # missing one; anything else without output is docker failing.
    if rc != 0 and not states and "no such" not in (err or "").lower():
        raise CheckFailed("docker inspect failed (rc %d): %s" % (rc, first_line(err) or "no output"),
                          hint="check the daemon: systemctl status docker; journalctl -u docker -n 50")
    return {name: states.get(name) for name in names}


def health_of(state):
    """The healthcheck's record, or None when the container has none
    (podman names the key Healthcheck)."""
    health = state.get("Health") or state.get("Healthcheck")
    if not health or health.get("Status") in (None, "", "none"):
        return None
    return health


def last_check_output(health):
    log = health.get("Log") or []
    if not log:
        return "none yet"
    lines = [line.strip() for line in str(log[-1].get("Output") or "").splitlines() if line.strip()]
    if not lines:
        return "exit %s, no output" % log[-1].get("ExitCode", "?")
    return " ".join(lines[-1].split())[:TAIL_CHARS]


def is_running(state):
    return bool(state.get("Running")) and not state.get("Paused") and not state.get("Restarting")


def run_state(state):
    """How docker ps would put it: "exited 137, OOM killed", "paused"."""
    status = state.get("Status") or ("running" if state.get("Running") else "unknown")
    if status == "exited":
        text = "exited %s" % state.get("ExitCode", "?")
    elif status == "restarting":
        text = "restarting, last exit %s" % state.get("ExitCode", "?")
    else:
        text = status
    if state.get("OOMKilled"):
        text += ", OOM killed"
    return text


def container_problem(name, state):
    """(message, kind) for a container that is not fine, else None;
    kind is missing / stopped / unhealthy."""
    if state is None:
        return "container %s does not exist; expected running" % name, "missing"
    if not is_running(state):
        return "container %s is not running (%s); expected running" % (name, run_state(state)), "stopped"
    health = health_of(state)
    if health is not None and health.get("Status") != "healthy":
        status = health.get("Status")
        return ("container %s is %s (health: %s, last check: %s); expected healthy" % (
            name, "unhealthy" if status == "unhealthy" else "not healthy yet", status,
            last_check_output(health)), "unhealthy")
    return None


def container_summary(state):
    if state is None:
        return "missing"
    health = health_of(state)
    text = "running" if is_running(state) else run_state(state)
    return "%s, %s" % (text, health.get("Status") if health else "no healthcheck")


def container_hint(kind, names):
    """What to do about containers of one kind of problem, naming them."""
    listed = " ".join(names)
    if kind == "missing":
        return ("create %s (docker compose up -d in the platform checkout) or correct precheck_docker_containers"
                % listed)
    if kind == "stopped":
        return "start %s: docker start %s; read why it stopped: docker logs --tail 50 %s" % (
            listed, listed, names[0])
    return "read the healthcheck log: docker inspect --format '{{json .State.Health}}' %s" % listed


def compose_version(host, timeout):
    """("plugin"|"v1", version) of the first Compose that answers, or
    (None, reasons) when neither does."""
    reasons = {}
    for kind, argv in (("plugin", ["docker", "compose", "version", "--short"]),
                       ("v1", ["docker-compose", "version", "--short"])):
        rc, out, err = host.command(argv, timeout=timeout)
        if rc == 0 and out.strip():
            return kind, first_line(out).lstrip("v")
        reasons[" ".join(argv[:-2])] = "rc %d: %s" % (rc, first_line(err) or first_line(out) or "no output")
    return None, reasons


@register
class DockerCheck(Check):
    name = "docker"
    number = 3
    title = "Docker"

    def run(self, ctx):
        host = ctx.host
        timeout = ctx.param("timeout")
        problems, hints = [], []
        level = "warn"  # raised to error by any error-level finding
        evidence = {}

        rc, out, err = host.command(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=timeout)
        daemon_up = rc == 0 and bool(out.strip())
        if daemon_up:
            evidence["server_version"] = first_line(out)
        else:
            level = "error"
            if rc == 127:
                problems.append("docker not found; expected the docker CLI and daemon")
                hints.append("install docker (apt-get install docker.io)")
            elif rc == 124:
                problems.append("docker daemon did not answer within %s s (docker info); expected it to answer"
                                % timeout)
                hints.append("check the daemon: systemctl status docker; journalctl -u docker -n 50")
            else:
                problems.append("docker daemon is not answering: %s" % (first_line(err) or "rc %d, no output" % rc))
                hints.append("start it: systemctl start docker; see why it stopped: journalctl -u docker -n 50")

        kind, found = compose_version(host, timeout)
        if kind:
            evidence["compose"] = {"kind": kind, "version": found,
                                   "command": "docker compose" if kind == "plugin" else "docker-compose"}
        else:
            evidence["compose"] = {"kind": None, "tried": found}
            problems.append("neither docker compose nor docker-compose found")
            hints.append("install the Compose plugin (docker-compose-plugin) or Debian's docker-compose package, "
                         "or set precheck_docker_require_compose: false to only warn")
            if ctx.param("require_compose"):
                level = "error"

        names = list(ctx.param("containers"))
        if names and daemon_up:
            try:
                states = inspect_containers(host, names, timeout)
            except CheckFailed as exc:  # keep the findings above
                problems.append(exc.msg)
                hints.append(exc.hint)
                states = {}
                level = "error"
            evidence["containers"] = {name: container_summary(states[name]) for name in states}
            by_kind = {}
            for name in states:
                found_problem = container_problem(name, states[name])
                if found_problem:
                    problems.append(found_problem[0])
                    by_kind.setdefault(found_problem[1], []).append(name)
                    level = "error"
            hints += [container_hint(k, by_kind[k]) for k in ("missing", "stopped", "unhealthy") if k in by_kind]

        if problems:
            raise CheckFailed("; ".join(problems), hint="; ".join(hints), details=evidence, level=level)
        parts = ["daemon %s" % evidence["server_version"], "%s %s" % (evidence["compose"]["command"], found)]
        if names:
            parts.append("%d container%s running and healthy" % (len(names), "" if len(names) == 1 else "s"))
        evidence["summary"] = "; ".join(parts)
        return evidence
