# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""make bench, the fleet figure: playbooks/phase4.yml wall time on 1, 2, 4
and 8 sandbox hosts of one inventory, in one session. Target: 8 hosts at
most 2x one host (median wall times).

The bench starts its own sandboxes (nexus-cos-bench-fleet-N) and removes
them at the end, also when it fails. By default they are the light variant
(``sandbox-up --light``: the sandbox image with docker and containerd
masked, no nexus-cos-postgres), so that eight fit on a 2-core machine; the
checks that variant cannot pass are skipped or narrowed, and the output
says which. ``--variant full`` runs the full sandbox and every check.

Sizes are measured in rounds (1, 2, 4, 8 hosts, then again), so that the
machine's noise falls on every size alike; one untimed run on all hosts
first. Beside the wall time: the CPU the run took on the controller
(ansible-playbook and its workers) and in the sandboxes (their cgroups);
the engine's API service is shared with other work and not counted.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANDBOX_BIN = os.path.join(ROOT, "sandbox", "bin")
TARGET_RATIO = 2.0
TARGET_HOSTS = 8
PREFIX = "nexus-cos-bench-fleet-"
ENGINE_ENV = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF")
                  or os.path.join(ROOT, "sandbox", "containers.conf"))

# What the light variant cannot pass, and what the bench does about it.
LIGHT_VARS = {"precheck_skip": ["docker", "database"], "precheck_services_units": ["nginx"]}
LIGHT_NOTE = [
    "sandboxes: LIGHT variant (sandbox-up --light: the sandbox image with docker and containerd masked;",
    "           no Docker daemon, no nexus-cos-postgres), so that 8 fit beside the controller on this machine",
    "  checks affected: 03 docker and 09 database skipped (precheck_skip: [docker, database]; each skip audited,",
    "           reported SKIP); 02 services checks nginx only (precheck_services_units: [nginx]);",
    "           the other nine checks, the lock, audit, snapshot and post-deployment validation run unchanged",
]
FULL_NOTE = ["sandboxes: full sandbox (systemd, nginx, docker + nexus-cos-postgres, gateway); every check runs"]


def die(msg):
    sys.stderr.write("fleet_bench: %s\n" % msg)
    raise SystemExit(2)


def parse_sizes(text):
    try:
        sizes = sorted(set(int(part) for part in text.split(",")))
    except ValueError:
        die("--sizes %r: expected host counts separated by commas, e.g. 1,2,4,8" % text)
    if not sizes or sizes[0] != 1:
        die("--sizes %r: expected positive host counts starting at 1 (the ratio is to one host)" % text)
    return sizes


def configured_forks():
    if os.environ.get("ANSIBLE_FORKS"):
        return int(os.environ["ANSIBLE_FORKS"])
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "ansible.cfg"))
    return cfg.getint("defaults", "forks", fallback=5)


def sandboxes_up(names, light):
    """Start them all at once; each sandbox-up waits until its sandbox is ready."""
    for name in names:
        # A leftover of an interrupted bench may be the other variant.
        subprocess.run([os.path.join(SANDBOX_BIN, "sandbox-down"), name], capture_output=True, text=True, check=False)
    procs = [(name, subprocess.Popen([os.path.join(SANDBOX_BIN, "sandbox-up"), name] + (["--light"] if light else []),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
             for name in names]
    failed = []
    for name, proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            failed.append("%s: %s" % (name, (err or out).strip()[-1000:]))
    if failed:
        raise RuntimeError("sandboxes not ready:\n" + "\n".join(failed))


def sandboxes_down(names):
    for name in names:
        subprocess.run([os.path.join(SANDBOX_BIN, "sandbox-down"), name], capture_output=True, text=True, check=False)


def cgroup_cpu_files(names):
    """Each sandbox's cumulative CPU counter (cgroup v1 cpuacct or v2
    cpu.stat), or None where it cannot be read."""
    files = {}
    for name in names:
        proc = subprocess.run(["podman", "inspect", "--format", "{{.State.CgroupPath}}", name],
                              capture_output=True, text=True, env=ENGINE_ENV, check=False)
        path = proc.stdout.strip()
        files[name] = None
        for candidate in ("/sys/fs/cgroup/cpuacct%s/cpuacct.usage" % path, "/sys/fs/cgroup%s/cpu.stat" % path):
            if path and os.path.exists(candidate):
                files[name] = candidate
                break
    return files


def cpu_seconds(path):
    with open(path) as handle:
        text = handle.read()
    if path.endswith("cpuacct.usage"):
        return int(text) / 1e9
    for line in text.splitlines():
        if line.startswith("usage_usec "):
            return int(line.split()[1]) / 1e6
    return 0.0


def sandbox_cpu(files, names):
    if any(files[name] is None for name in names):
        return None
    return sum(cpu_seconds(files[name]) for name in names)


def own_and_children_cpu(pid):
    """(the process's own CPU seconds, its reaped children's) from /proc."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def engine_cpu():
    """CPU seconds of the engine's API service (and the children it reaped),
    or None. Every exec of the docker_api connection goes through it; it
    serves other sessions' sandboxes too, whose use is included."""
    try:
        with open("/run/nexus-cos-sandbox/podman-service.pid") as handle:
            own, children = own_and_children_cpu(int(handle.read().strip()))
    except (OSError, ValueError, IndexError):
        return None
    return own + children


def phase4(inventory, hosts, extra_file, cpu_files):
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
           os.path.join(ROOT, "playbooks", "phase4.yml"), "--limit", ",".join(hosts), "-e", "@" + extra_file]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    box_before = sandbox_cpu(cpu_files, hosts)
    engine_before = engine_cpu()
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        # ansible-playbook's own process (strategy, variables, results) runs
        # every host's tasks through one loop; its CPU is sampled until it ends.
        main_cpu = 0.0
        while proc.poll() is None:
            try:
                main_cpu = own_and_children_cpu(proc.pid)[0]
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        out.seek(0)
        output = out.read()
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    box_after = sandbox_cpu(cpu_files, hosts)
    engine_after = engine_cpu()
    if proc.returncode != 0:
        sys.stderr.write(output[-6000:])
        raise RuntimeError("phase4 on %d host(s) failed (rc %d)" % (len(hosts), proc.returncode))
    controller = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
    return {"wall_s": elapsed, "controller_cpu_s": controller, "main_process_cpu_s": main_cpu,
            "sandbox_cpu_s": None if box_before is None else box_after - box_before,
            "engine_cpu_s": None if None in (engine_before, engine_after) else engine_after - engine_before}


def median_of(runs, key):
    values = [run[key] for run in runs if run[key] is not None]
    return round(statistics.median(values), 2) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,2,4,8", help="host counts, starting at 1 (default 1,2,4,8)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each size (median reported)")
    parser.add_argument("--variant", choices=["light", "full"], default="light",
                        help="sandbox variant (default light: docker and postgres masked)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)
    if args.runs < 1:
        die("--runs %d: expected 1 or more" % args.runs)
    light = args.variant == "light"
    names = ["%s%d" % (PREFIX, index) for index in range(1, sizes[-1] + 1)]
    forks = configured_forks()
    cores = os.cpu_count() or 1
    work = tempfile.mkdtemp(prefix="nexus-fleet-bench-")
    load_start = os.getloadavg()
    try:
        started = time.monotonic()
        sandboxes_up(names, light)
        ready_s = time.monotonic() - started
        inventory = os.path.join(work, "fleet.yml")
        host_vars = {
            "ansible_connection": "community.docker.docker_api",
            "ansible_docker_docker_host": os.environ.get("NEXUS_SANDBOX_DOCKER_HOST",
                                                         "unix:///run/nexus-cos-sandbox/podman.sock"),
            "ansible_docker_timeout": 120,
            # As inventories/sandbox: named, so no task asks the engine's /version.
            "ansible_docker_api_version": "1.41",
            "ansible_python_interpreter": "/usr/bin/python3",
            "nexus_environment": "sandbox",
            # Pinned (refused from extra vars): the inventory names it.
            "nexus_artifacts_dir": os.path.join(work, "artifacts"),
        }
        with open(inventory, "w") as handle:
            json.dump({"all": {"children": {"nexus_vps": {"vars": host_vars, "hosts": {name: {} for name in names}}}}},
                      handle, indent=2)
        extra = dict(LIGHT_VARS if light else {})
        extra_file = os.path.join(work, "extra-vars.json")
        with open(extra_file, "w") as handle:
            json.dump(extra, handle)
        cpu_files = cgroup_cpu_files(names)

        # The first run on a fresh host creates the audit directory and
        # backups: not what is measured.
        phase4(inventory, names, extra_file, cpu_files)
        runs = dict((size, []) for size in sizes)
        for dummy in range(args.runs):
            for size in sizes:
                runs[size].append(phase4(inventory, names[:size], extra_file, cpu_files))
    finally:
        sandboxes_down(names)
        shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()

    figures = {"variant": args.variant, "forks": forks, "strategy": "linear", "cores": cores,
               "load_average": [round(load_start[0], 2), round(load_end[0], 2)], "sandboxes_ready_s": round(ready_s, 1),
               "extra_vars": LIGHT_VARS if light else {}, "sizes": {}}
    for size in sizes:
        figures["sizes"][size] = {
            "median_s": median_of(runs[size], "wall_s"),
            "runs_s": [round(run["wall_s"], 2) for run in runs[size]],
            "controller_cpu_s": median_of(runs[size], "controller_cpu_s"),
            "main_process_cpu_s": median_of(runs[size], "main_process_cpu_s"),
            "sandbox_cpu_s": median_of(runs[size], "sandbox_cpu_s"),
            "engine_cpu_s": median_of(runs[size], "engine_cpu_s"),
        }
    one = figures["sizes"][1]["median_s"]
    for size in sizes:
        figures["sizes"][size]["ratio"] = round(figures["sizes"][size]["median_s"] / one, 2)
    largest = sizes[-1]
    ratio = figures["sizes"][largest]["ratio"]
    figures["target"] = {"hosts": largest, "ratio_max": TARGET_RATIO, "ratio": ratio}

    print("fleet: playbooks/phase4.yml on %s sandbox hosts of one inventory, %d timed runs each (median), in rounds"
          % (", ".join(str(size) for size in sizes), args.runs))
    print("  controller: %d cores, ansible forks %d (ansible.cfg), strategy linear (free would give each host its"
          % (cores, forks))
    print("  own run id: launch_context sets it run_once); load average %.2f at the start, %.2f at the end"
          % (load_start[0], load_end[0]))
    for line in (LIGHT_NOTE if light else FULL_NOTE):
        print(line)
    print("  %d sandboxes started at once, ready in %.1f s (not timed)" % (len(names), ready_s))
    if forks < largest:
        print("  note: forks %d < %d hosts: the largest runs go in batches" % (forks, largest))
    print("hosts  median s  runs s                  x 1 host   CPU s: controller (main process)  sandboxes  engine")
    for size in sizes:
        row = figures["sizes"][size]
        print("%5d  %8.2f  %-22s  %7.2fx  %18.1f (%5.1f)        %9s  %6s" % (
            size, row["median_s"], "(" + ", ".join("%.2f" % t for t in row["runs_s"]) + ")", row["ratio"],
            row["controller_cpu_s"], row["main_process_cpu_s"],
            "-" if row["sandbox_cpu_s"] is None else "%.1f" % row["sandbox_cpu_s"],
            "-" if row["engine_cpu_s"] is None else "%.1f" % row["engine_cpu_s"]))
    print("  controller: ansible-playbook and its workers; main process: the one loop every host's tasks go through;")
    print("  sandboxes: their cgroups; engine: podman's API service every docker_api exec goes through (shared:")
    print("  other sessions' use included; the conmon/runc processes of each exec are not counted)")
    top = figures["sizes"][largest]
    if top["sandbox_cpu_s"] is not None:
        floor = (top["controller_cpu_s"] + top["sandbox_cpu_s"]) / cores
        print("  %d hosts: controller and sandboxes alone took %.1f s of CPU on %d cores, so at least %.1f s of wall"
              % (largest, top["controller_cpu_s"] + top["sandbox_cpu_s"], cores, floor))
        print("  time (%.2fx one host) however well the hosts overlap, the engine not counted" % (floor / one))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    if largest != TARGET_HOSTS:
        print("%-28s %6.2fx  (the target is for %d hosts: not judged)" % ("fleet %d hosts / 1 host" % largest, ratio,
                                                                          TARGET_HOSTS))
        return 0
    within = ratio <= TARGET_RATIO
    print("%-28s %6.2fx  (target <= %sx)  %s" % ("fleet %d hosts / 1 host" % largest, ratio, TARGET_RATIO,
                                                 "ok" if within else "OUTSIDE"))
    print("within target" if within else "OUTSIDE TARGET")
    return 0 if within else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        die(str(exc))
