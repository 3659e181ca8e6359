"""The kill switch on the host (module_utils/activation/emergency.py), against the
sandbox's gateway double and a copy of the sample repository: pulled and
confirmed, kept when the gateway does not confirm, the lock rules, check
mode, a host without PyYAML, and the rendered on-host script."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import (audit_log, deploy_lock, flag_store, host_scripts, restore,
                                                                       snapshot)
from ansible_collections.nexus_cos.launch.plugins.module_utils import activation
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import plan as activation_plan
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import emergency
from ansible_collections.nexus_cos.launch.plugins.module_utils.run_context import HostPaths, RunContext

from ansible_collections.nexus_cos.launch.tests.unit.utils.gateway_double import ROOT, Double, sample_repo

MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
RUN_ID = "20261201T100000Z-abc123"
STAMP = RUN_ID[:16]
HOLDER = {"user": "oncall", "controller": "laptop", "pid": 1}


@pytest.fixture
def host(tmp_path):
    yield from _host(tmp_path)


@pytest.fixture
def root_host(trusted_tmp):
    """The host under a directory only root can write: the on-host scripts
    run nothing from a snapshot under /tmp."""
    yield from _host(pathlib.Path(trusted_tmp))


def _host(tmp_path):
    repo = sample_repo(tmp_path)
    repo.update(audit_dir=str(tmp_path / "audit"), backup_dir=str(tmp_path / "backups"),
                lock=str(tmp_path / "deploy.lock"), tmp=tmp_path)
    double = Double(repo["flag_store"], str(tmp_path / "faults.json"))
    # The sample launches publicly first: the switch must bring it back.
    double.enable("PUBLIC_FULL_LAUNCH_MODE", "JURISDICTION_ENGINE_ENABLED", "MARKETPLACE_PHASE2_ENABLED",
                  "MARKETPLACE_PHASE3_ENABLED")
    double.enable("FOUNDER_BETA_MODE", value=False)
    pf = os.path.join(repo["pf_dir"], "global-launch.yaml")
    with open(pf) as handle:
        text = handle.read()
    with open(pf, "w") as handle:
        handle.write(text.replace("  public_signup: false", "  public_signup: true")
                     .replace("  founder_mode: true", "  founder_mode: false")
                     .replace("  full_public_mode: false", "  full_public_mode: true"))
    double.reload()
    repo["gateway"] = double
    yield repo
    double.close()


def pull(host, run_id=RUN_ID, url=None, verify_timeout=5, **kwargs):
    kwargs.setdefault("runtime_files", snapshot.runtime_files(MODULE_UTILS))
    paths = HostPaths(host["flag_store"], host["pf_dir"], host["backup_dir"], host["audit_dir"], host["lock"],
                      url or host["gateway"].url)
    return emergency.pull(RunContext(paths, run_id, holder=HOLDER, verify_timeout=verify_timeout), **kwargs)


def events(host):
    entries, dummy = audit_log.read_trail(host["audit_dir"])
    return [e.record.event for e in entries]


def flags(host):
    with open(host["flag_store"]) as handle:
        return dict((n, f["enabled"]) for n, f in json.load(handle)["feature_flags"].items())


def test_pulled_and_confirmed(host):
    result = pull(host, reason="fraud wave")
    assert result["confirmed"] is True and result["changed"] is True and result["lock"] == "acquired"
    assert result["applied"] is True
    assert result["seen"]["access_mode"] == "founder_beta" and result["seen"]["marketplace_phase"] == 2
    # What a fleet's other gateways are then held to: what this one served.
    assert sorted(result["expected"]) == ["access_mode", "flags", "marketplace_phase"]
    assert result["expected"] == dict((key, result["seen"][key]) for key in result["expected"])
    state = flags(host)
    assert state["FOUNDER_BETA_MODE"] and not state["PUBLIC_FULL_LAUNCH_MODE"]
    assert not state["MARKETPLACE_PHASE3_ENABLED"]
    with open(os.path.join(host["pf_dir"], "global-launch.yaml")) as handle:
        assert "public_signup: false" in handle.read()
    # The runtime and scripts of the switch's own snapshot come after the
    # confirmation: they are not in the seconds that count.
    assert events(host) == ["LOCK_ACQUIRED", "DEPLOYMENT_START", "ACTIVATION_GATE", "SNAPSHOT_CREATED",
                            "FLAGS_CHANGED", "PF_SETTINGS_CHANGED", "EMERGENCY_SWITCH", "ROLLBACK_SCRIPT_GENERATED",
                            "DEPLOYMENT_COMPLETE", "LOCK_RELEASED"]
    assert result["confirmed_ms"] <= result["elapsed_ms"]
    state_file = activation_record.state_path(host["audit_dir"])
    entry = activation_record.read_state(state_file)["activations"][-1]
    assert entry["key"] == "emergency" and entry["reason"] == "fraud wave" and entry["from_mode"] == "public_full"
    assert activation_record.verify_entries([entry], host["audit_dir"])[0]["audit_verified"]
    assert not os.path.exists(host["lock"])
    # The switch can be rolled back in turn, on the host: its own scripts.
    assert result["rollback_script"].endswith("nexus-rollback-%s.sh" % STAMP)
    assert os.stat(result["emergency_script"]).st_mode & 0o777 == 0o750
    restored = restore.restore(result["snapshot_dir"])
    assert restored["state"] == "restored" and flags(host)["PUBLIC_FULL_LAUNCH_MODE"]


def test_a_second_pull_changes_nothing_and_checks_again(host):
    pull(host)
    before = open(host["flag_store"], "rb").read()
    again = pull(host, run_id="20261201T100100Z-def456")
    assert again["confirmed"] is True and again["changed"] is False
    assert open(host["flag_store"], "rb").read() == before


def test_not_confirmed_stays_applied_and_says_so(host):
    host["gateway"].close()   # the gateway is down
    with pytest.raises(emergency.SwitchNotConfirmed) as info:
        pull(host, url="http://127.0.0.1:9", verify_timeout=0.3, reason="launch guard of run r1: /health down")
    message = str(info.value)
    assert message.startswith("emergency switch APPLIED and KEPT, but the gateway did not confirm it. It is not "
                              "undone: restoring the state before it would reopen the platform in the middle of an "
                              "incident.")
    assert "  written: flags " in message and "FOUNDER_BETA_MODE on" in message and "PUBLIC_FULL_LAUNCH_MODE off" in message
    assert "global-launch.yaml feature_flags.public_signup=false" in message
    assert ("  gateway: gateway http://127.0.0.1:9 did not confirm access mode founder_beta, marketplace phase 2, "
            "9 flags within 0.3 s: the reload was not accepted (no answer (connection refused))") in message
    assert "  check:   Nothing answers at the gateway's address (connection refused)" in message
    assert "sudo %s" % os.path.join(host["audit_dir"], "nexus-emergency-%s.sh" % STAMP) in message
    # Kept: the files hold the emergency state; nothing was restored.
    assert flags(host)["FOUNDER_BETA_MODE"] and not flags(host)["PUBLIC_FULL_LAUNCH_MODE"]
    assert info.value.result["applied"] is True and info.value.result["confirmed"] is False
    trail = events(host)
    assert "EMERGENCY_SWITCH_UNCONFIRMED" in trail and "EMERGENCY_SWITCH" not in trail
    assert "ROLLBACK_START" not in trail and trail[-2:] == ["DEPLOYMENT_COMPLETE", "LOCK_RELEASED"]
    entries, dummy = audit_log.read_trail(host["audit_dir"])
    unconfirmed = [e.record for e in entries if e.record.event == "EMERGENCY_SWITCH_UNCONFIRMED"][0]
    assert unconfirmed.fields["kept"] == "True" and "FOUNDER_BETA_MODE=on" in unconfirmed.fields["written"]
    # Why it was pulled is in the switch's own records even when nothing confirmed it.
    assert unconfirmed.fields["reason"] == "launch guard of run r1: /health down"
    complete = [e.record for e in entries if e.record.event == "DEPLOYMENT_COMPLETE"][0]
    assert complete.fields["status"] == "failed"
    assert not os.path.exists(host["lock"])


def test_a_gateway_serving_nothing_after_the_reload_is_named(host):
    # The platform's service after a reload of a file it could not parse.
    good = open(host["flag_store"], "rb").read()
    with open(host["flag_store"], "wb") as handle:
        handle.write(good[:40])
    assert host["gateway"].reload() == {"success": True, "message": "Feature flags reloaded"}
    with open(host["flag_store"], "wb") as handle:
        handle.write(good)
    host["gateway"].fault(stale_reload=True)
    with pytest.raises(emergency.SwitchNotConfirmed) as info:
        pull(host, verify_timeout=0.3)
    assert "it serves access mode none, 0 flags" in str(info.value)
    assert "The gateway serves no flags at all" in str(info.value)


def test_a_dead_holder_is_taken_over(host):
    deploy_lock.acquire(host["lock"], {"run_id": "old-run", "user": "bob", "controller": os.uname()[1],
                                       "pid": 2 ** 22 + 17}, 1800)
    result = pull(host, break_lock=False)
    assert result["lock"] == "recovered" and result["previous_holder"]["run_id"] == "old-run"
    assert "LOCK_STALE_RECOVERED" in events(host)


def test_a_live_holder_is_broken_unless_told_to_keep_it(host):
    live = {"run_id": "busy-run", "user": "bob", "controller": "elsewhere", "pid": 1}
    deploy_lock.acquire(host["lock"], live, 1800)
    with pytest.raises(emergency.SwitchFailed, match="held by run busy-run"):
        pull(host, break_lock=False)
    assert deploy_lock.read_holder(host["lock"])["run_id"] == "busy-run"
    assert flags(host)["PUBLIC_FULL_LAUNCH_MODE"], "nothing may change when the switch stops at the lock"
    result = pull(host, run_id="20261201T100200Z-aaa111")
    assert result["lock"] == "broken" and result["previous_holder"]["run_id"] == "busy-run"
    assert "LOCK_BROKEN" in events(host)


def test_check_mode_writes_nothing(host):
    before = open(host["flag_store"], "rb").read()
    result = pull(host, check_mode=True)
    assert result["changed"] is True and result["diffs"] and result["lock"] is None
    assert result["applied"] is False and result["expected"]["access_mode"] == "founder_beta"
    assert open(host["flag_store"], "rb").read() == before
    assert not os.path.exists(host["audit_dir"]) and not os.path.exists(host["backup_dir"])


def test_without_pyyaml_the_flags_are_switched_and_the_pf_files_named(host, monkeypatch):
    monkeypatch.setattr(emergency, "pf_editing_available",
                        lambda: (False, "python3-yaml is not installed on this host (apt-get install python3-yaml)"))
    pf = os.path.join(host["pf_dir"], "global-launch.yaml")
    pf_before = open(pf, "rb").read()
    result = pull(host)
    assert result["confirmed"] and result["pf_changes"] == [] and open(pf, "rb").read() == pf_before
    assert result["pf_skipped"].startswith("python3-yaml is not installed")
    assert "PF_SETTINGS_SKIPPED" in events(host)


def test_a_flag_store_the_service_cannot_parse_is_not_rewritten_and_the_gateway_serves_nothing(host):
    with open(host["flag_store"], "w") as handle:
        handle.write("{not json")
    with pytest.raises(emergency.StoreServesNothing) as info:
        pull(host)
    message = str(info.value)
    assert message.startswith("emergency switch: the flag store is not rewritten: the platform's service cannot "
                              "parse it (%s: invalid JSON: " % host["flag_store"])
    assert ("  gateway: reloaded, it serves no flags at all: access mode none (closed, not public; the PF health "
            "endpoints answer 503)") in message
    assert message.splitlines()[-1].startswith("  next:    fix or restore the flag store")
    assert message.endswith("pull the switch again: nexusctl rollback --emergency, or on the host sudo %s"
                            % os.path.join(host["audit_dir"], "nexus-emergency-%s.sh" % STAMP))
    assert open(host["flag_store"]).read() == "{not json"
    result = info.value.result
    assert result["outcome"] == "store_serves_nothing" and result["applied"] is False
    assert result["seen"]["access_mode"] == "none" and result["seen"]["flags"] == 0
    assert "EMERGENCY_SWITCH_STORE_SERVES_NOTHING" in events(host)
    assert not os.path.exists(host["lock"])


def _edit_store(host, edit):
    with open(host["flag_store"]) as handle:
        data = json.load(handle)
    text = edit(data)
    with open(host["flag_store"], "w") as handle:
        handle.write(text if isinstance(text, str) else json.dumps(data, indent=2))
    host["gateway"].reload()


def _served(host):
    import urllib.request
    with urllib.request.urlopen(host["gateway"].url + "/api/feature-flags", timeout=5) as response:
        return json.loads(response.read())["currentMode"]


def _assert_founder(host, result):
    assert result["confirmed"] is True and result["outcome"] == "pulled"
    assert result["seen"]["access_mode"] == "founder_beta"
    # What is written is the gateway's format, and reads strictly.
    text = open(host["flag_store"]).read()
    assert text.startswith('{\n  "') and flag_store.service_loads(text).access_mode() == "founder_beta"
    entry = activation_record.read_state(activation_record.state_path(host["audit_dir"]))["activations"][-1]
    assert entry["key"] == "emergency" and "EMERGENCY_SWITCH" in events(host)


def test_a_duplicate_flag_key_is_read_as_the_service_reads_it_the_last_wins(host):
    def duplicate(data):
        text = json.dumps(data, indent=2)
        # A first PUBLIC_FULL_LAUNCH_MODE that is off; the service serves the last one, on.
        return text.replace('"feature_flags": {', '"feature_flags": {\n    "PUBLIC_FULL_LAUNCH_MODE": '
                                                  '{"enabled": false},', 1)
    _edit_store(host, duplicate)
    assert _served(host) == "public_full"
    _assert_founder(host, pull(host))


def test_enabled_null_and_other_odd_but_served_values_are_switched(host):
    def odd(data):
        flags = data["feature_flags"]
        flags["FOUNDER_BETA_MODE"]["enabled"] = None          # what PUT /api/feature-flags/NAME {} writes
        flags["PUBLIC_FULL_LAUNCH_MODE"].pop("requires", None)
        flags["PUBLIC_SOFT_LAUNCH_MODE"]["requires"] = None
        flags["PUBLIC_FULL_LAUNCH_MODE"]["owner"] = "growth team"
        flags["LEGACY_TOGGLE"] = True                         # not an object: served, never on
        data.pop("version", None)
        data.pop("updated", None)
    _edit_store(host, odd)
    assert _served(host) == "public_full"
    result = pull(host)
    _assert_founder(host, result)
    data = json.load(open(host["flag_store"]))
    assert data["feature_flags"]["LEGACY_TOGGLE"] is True and data["feature_flags"]["PUBLIC_FULL_LAUNCH_MODE"]["owner"]


def test_a_symlinked_store_is_written_through_the_link_which_stays(host):
    target_dir = host["tmp"] / "elsewhere"
    target_dir.mkdir()
    target = str(target_dir / "flags.json")
    os.rename(host["flag_store"], target)
    os.symlink(target, host["flag_store"])
    host["gateway"].reload()
    result = pull(host)
    _assert_founder(host, result)
    assert os.path.islink(host["flag_store"]) and os.readlink(host["flag_store"]) == target
    assert not [n for n in os.listdir(str(target_dir)) if n != "flags.json"], "no temp file left"
    # The snapshot holds the target, so the switch can be rolled back in turn.
    assert restore.restore(result["snapshot_dir"])["state"] == "restored"
    assert os.path.islink(host["flag_store"]) and json.load(open(target))["feature_flags"][
        "PUBLIC_FULL_LAUNCH_MODE"]["enabled"] is True


def test_a_store_over_256_kib_is_switched(host):
    def huge(data):
        data["feature_flags"]["PUBLIC_FULL_LAUNCH_MODE"]["description"] = "x" * (300 * 1024)
    _edit_store(host, huge)
    assert os.path.getsize(host["flag_store"]) > 256 * 1024
    _assert_founder(host, pull(host))


@pytest.mark.parametrize("odd", ["directory", "bad yaml", "unreadable"])
def test_a_pf_file_that_cannot_be_edited_is_named_and_the_flags_are_pulled(host, odd, monkeypatch):
    market = os.path.join(host["pf_dir"], "marketplace-phase3.yaml")
    with open(market) as handle:
        text = handle.read()
    with open(market, "w") as handle:
        handle.write(text.replace("  enabled: false  # switched on by step 1", "  enabled: true", 1))
    pf = os.path.join(host["pf_dir"], "global-launch.yaml")
    if odd == "directory":
        os.unlink(pf)
        os.mkdir(pf)
    elif odd == "bad yaml":
        with open(pf, "w") as handle:
            handle.write("feature_flags: [unclosed\n")
    else:
        from ansible_collections.nexus_cos.launch.plugins.module_utils import documents
        real = documents.read_text

        def denied(path, *args, **kwargs):
            if path == pf:
                raise documents.DocumentError(pf, "cannot be read (Permission denied)")
            return real(path, *args, **kwargs)
        monkeypatch.setattr(documents, "read_text", denied)
    with pytest.raises(emergency.SwitchIncomplete) as info:
        pull(host)
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == ("emergency switch PULLED and CONFIRMED: the gateway serves access mode founder_beta, "
                        "9 flags (HTTP 200), marketplace phase 2 (HTTP 200). Not every PF file could be edited; the flags (what the gateway "
                        "serves) are switched all the same.")
    assert lines[2].startswith("  PF files NOT edited: global-launch.yaml: %s" % pf)
    assert lines[-1] == ("  next:    fix global-launch.yaml, then pull the switch again (it edits what is missing): "
                         "nexusctl rollback --emergency, or on the host sudo %s"
                         % os.path.join(host["audit_dir"], "nexus-emergency-%s.sh" % STAMP))
    assert "not pulled" not in message.lower() and "not confirmed" not in message.lower()
    result = info.value.result
    assert result["outcome"] == "pf_skipped" and result["confirmed"] and list(result["pf_not_edited"]) == [
        "global-launch.yaml"]
    assert flags(host)["FOUNDER_BETA_MODE"] and not flags(host)["PUBLIC_FULL_LAUNCH_MODE"]
    assert _served(host) == "founder_beta"
    # The other PF files are edited.
    assert "marketplace-phase3.yaml" in set(c["file"] for c in result["pf_changes"])
    assert "global-launch.yaml" not in set(c["file"] for c in result["pf_changes"])
    trail = events(host)
    assert "EMERGENCY_SWITCH" in trail and "PF_SETTINGS_SKIPPED" in trail
    entry = activation_record.read_state(activation_record.state_path(host["audit_dir"]))["activations"][-1]
    assert entry["key"] == "emergency" and entry["pf_skipped"] == "global-launch.yaml"


def test_a_reason_of_any_size_is_truncated_and_the_switch_still_recorded(host):
    reason = "r" * 102400
    result = pull(host, reason=reason)
    assert result["confirmed"] and result["reason_truncated"] is True and result["reason_bytes"] == 102400
    entries, dummy = audit_log.read_trail(host["audit_dir"])
    [record] = [e.record for e in entries if e.record.event == "EMERGENCY_SWITCH"]
    assert record.fields["reason"] == "r" * activation.REASON_LIMIT_BYTES
    assert record.fields["reason_truncated"] == "True" and record.fields["reason_bytes"] == "102400"
    entry = activation_record.read_state(activation_record.state_path(host["audit_dir"]))["activations"][-1]
    assert entry["reason_truncated"] is True and len(entry["reason"]) == activation.REASON_LIMIT_BYTES
    assert not result["audit_errors"]


def test_an_unconfirmed_switch_never_says_not_pulled_and_ends_with_the_next_command(host):
    host["gateway"].close()
    with pytest.raises(emergency.SwitchNotConfirmed) as info:
        pull(host, url="http://127.0.0.1:9", verify_timeout=0.2, reason="x" * 5000)
    message = str(info.value)
    assert "not pulled" not in message.lower()
    assert message.splitlines()[-1].startswith("  next:    pull it again")
    assert info.value.result["outcome_text"] == "APPLIED and KEPT, but NOT confirmed by the gateway (see below)"
    entries, dummy = audit_log.read_trail(host["audit_dir"])
    [record] = [e.record for e in entries if e.record.event == "EMERGENCY_SWITCH_UNCONFIRMED"]
    assert record.fields["reason_truncated"] == "True" and record.fields["reason_bytes"] == "5000"


def test_an_audit_dir_that_cannot_be_written_does_not_stop_the_switch(host, monkeypatch):
    real = audit_log.AuditLog.records

    def full(self, events_):
        if any(e[0] == "FLAGS_CHANGED" for e in events_):
            raise OSError(28, "No space left on device", os.path.join(host["audit_dir"], "x.log"))
        return real(self, events_)

    monkeypatch.setattr(audit_log.AuditLog, "records", full)
    result = pull(host)
    assert result["confirmed"] is True
    [error] = result["audit_errors"]
    assert error.startswith("no space left on device writing %s (filesystem " % os.path.join(host["audit_dir"], "x.log"))


@pytest.mark.skipif(os.geteuid() != 0, reason="the emergency script runs as root only")
def test_the_on_host_script_needs_only_python3(root_host):
    host = root_host
    first = pull(host)                       # a run that rendered the scripts
    restore.restore(first["snapshot_dir"])  # public again
    host["gateway"].reload()
    script = first["emergency_script"]
    env = {"PATH": "/usr/bin:/bin"}

    def run(*args):
        return subprocess.run([script] + list(args), env=env, capture_output=True, text=True, timeout=60,
                              cwd=str(host["tmp"]), check=False)

    usage = run("-h")
    assert usage.returncode == 0 and "usage: sudo %s [--reason TEXT] [--keep-lock] [--dry-run]" % script in usage.stdout
    assert run("--bogus").returncode == 2
    dry = run("--dry-run")
    assert dry.returncode == 0 and "would change the files above" in dry.stdout
    assert flags(host)["PUBLIC_FULL_LAUNCH_MODE"]
    pulled = run("--reason", "on-call drill")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert "gateway serves access mode founder_beta" in pulled.stdout
    assert "emergency switch pulled and confirmed by the gateway" in pulled.stdout
    assert flags(host)["FOUNDER_BETA_MODE"] and not flags(host)["PUBLIC_FULL_LAUNCH_MODE"]
    entry = activation_record.read_state(activation_record.state_path(host["audit_dir"]))["activations"][-1]
    assert entry["via"] == "script" and entry["reason"] == "on-call drill"


def test_the_runtime_carries_everything_the_scripts_import():
    """Every module_utils module the on-host commands import (transitively)
    is copied into the snapshot's lib/, and nothing else: the snapshot
    module finds the sources in its own zip, which holds only what it
    imports, so a module listed but no longer imported stops every run."""
    import ast
    base = snapshot.PACKAGE + "."

    def source(name):
        path = os.path.join(MODULE_UTILS, *name.split("."))
        return open(os.path.join(path, "__init__.py") if os.path.isdir(path) else path + ".py").read()

    todo, seen = ["rollback_cli", "activation.emergency"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(source(name))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            module = node.module + "."
            if module == base:
                todo.extend(alias.name for alias in node.names)
            elif module.startswith(base):
                inner = module[len(base):-1]
                is_package = os.path.isdir(os.path.join(MODULE_UTILS, *inner.split(".")))
                # From a package, a name is a submodule or one of the package's own (its __init__).
                names = [inner + "." + alias.name for alias in node.names] if is_package else []
                submodules = [name for name in names if os.path.exists(os.path.join(MODULE_UTILS, *name.split(".")) + ".py")
                              or os.path.isdir(os.path.join(MODULE_UTILS, *name.split(".")))]
                todo.extend(submodules)
                if len(submodules) < len(names) or not is_package:
                    todo.append(inner)
    assert seen == set(snapshot.RUNTIME_MODULES), sorted(seen ^ set(snapshot.RUNTIME_MODULES))


def test_scripts_quote_their_paths():
    run = RunContext(HostPaths("/f's", "/p", "/b", "/a", "/l", "http://gw"), "r1", host="vps", verify_timeout=5)
    text = host_scripts.emergency_script(run, "/b/x y")
    assert "flag_store='/f'\"'\"'s'" in text and "snapshot_dir='/b/x y'" in text


def test_emergency_plan_without_pf_has_only_flags():
    plan = activation_plan.emergency_plan(with_pf=False)
    assert plan.settings == [] and "FOUNDER_BETA_MODE" in plan.enable


def test_a_switch_pulled_twice_in_one_second_gets_the_next_stamp(host):
    first = pull(host)
    run_id = emergency.free_run_id(host["backup_dir"], host["audit_dir"], now=1796119200.0)  # 2026-12-01T10:00:00Z
    assert run_id.startswith("20261201T100001Z-")
    assert os.path.isdir(first["snapshot_dir"])


def test_a_switch_already_in_place_but_unconfirmed_says_so(host):
    pull(host)
    host["gateway"].close()
    with pytest.raises(emergency.SwitchNotConfirmed) as info:
        pull(host, run_id="20261201T100300Z-bbb222", url="http://127.0.0.1:9", verify_timeout=0.2)
    assert str(info.value).startswith("emergency switch IN PLACE (the files already held it), but the gateway did "
                                      "not confirm it: it does not serve founder mode.")
    assert "  written: nothing: the files already held the emergency state" in str(info.value)


def test_founder_mode_that_cannot_be_turned_on_still_closes_the_public_flags(host):
    def no_founder(data):
        data["feature_flags"]["FOUNDER_BETA_MODE"]["requires"] = ["NO_SUCH_FLAG"]
    _edit_store(host, no_founder)
    result = pull(host)
    assert result["confirmed"] and result["seen"]["access_mode"] == "none" and _served(host) == "none"
    assert not flags(host)["PUBLIC_FULL_LAUNCH_MODE"] and not flags(host)["PUBLIC_SOFT_LAUNCH_MODE"]
    assert result["notes"][0].startswith("FOUNDER_BETA_MODE cannot be turned on (")
    assert result["notes"][0].endswith("the public flags are turned off all the same, and the gateway serves access "
                                       "mode none (closed, not public)")


def test_a_file_planted_again_and_again_at_the_lock_path_does_not_stop_the_switch(host, monkeypatch):
    raced = ("deployment lock %s: an untrusted file was planted there again each time it was removed (3 times), so "
             "the lock is refused rather than waited on; find the process that creates it" % host["lock"])

    def planted_again(*args, **kwargs):
        raise deploy_lock.LockRaced(raced)

    monkeypatch.setattr(deploy_lock, "acquire", planted_again)
    result = pull(host, reason="someone keeps planting the lock")
    assert result["confirmed"] is True and result["lock"] == "skipped" and result["lock_problem"] == raced
    assert flags(host)["FOUNDER_BETA_MODE"] and not flags(host)["PUBLIC_FULL_LAUNCH_MODE"]
    assert events(host)[:2] == ["LOCK_SKIPPED", "DEPLOYMENT_START"]
    assert events(host)[-1] == "DEPLOYMENT_COMPLETE" and "LOCK_RELEASED" not in events(host)
