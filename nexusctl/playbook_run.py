# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Runs the collection's playbooks through ansible-runner, streaming one
line of progress per task result, and maps the outcome to nexusctl's exit
codes. The same playbooks run unchanged under AWX/AAP: inputs are extra
vars, results are artifacts.

Also the three things every command that reaches a host shares: the target
options (-i -l -e -v, before or after the command), the -e arguments (read
as ansible-playbook reads them, handed to it as given) and the environment
ansible-runner gets (an allow-list: it records that environment in its
artifacts)."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Mapping

from ansible_collections.nexus_cos.launch.nexusctl import check_mode, host_paths, json_output, run_cancel, state_dir
from ansible_collections.nexus_cos.launch.nexusctl.collection_root import ROOT
from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, operator_hints

from ansible_collections.nexus_cos.launch.nexusctl.exit_codes import (EXIT_CANCELED, EXIT_ERROR, EXIT_OK, EXIT_REFUSED,
                                                                      EXIT_UNREACHABLE, EXIT_USAGE)
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import pinned_vars

DEFAULT_INVENTORY = os.path.join(ROOT, "inventories", "sandbox")
PLAYBOOK_DIR = os.path.join(ROOT, "playbooks")
# The state directory (state_dir.py), set by configure_state from nexusctl's
# --state-dir and --keep-runs; the default is resolved on first use.
# RUNNER_DIR, when set, overrides <state dir>/artifacts/runner (tests).
STATE_DIR = RUNNER_DIR = KEEP_RUNS = None


def configure_state(given=None, keep=None):
    """Use ``given`` (--state-dir; None: the default) and keep ``keep``
    runner records (--keep-runs). Raises state_dir.StateDirError."""
    global STATE_DIR, KEEP_RUNS    # pylint: disable=global-statement
    STATE_DIR = state_dir.resolve(given, ROOT)
    KEEP_RUNS = state_dir.keep_runs(keep)


def current_state():
    """(state dir, runner dir, runner records kept)."""
    state = STATE_DIR or state_dir.resolve(None, ROOT)
    return state, RUNNER_DIR or state_dir.runner_dir(state), KEEP_RUNS or state_dir.keep_runs()


# ---------------------------------------------------------------- target options

# The target options may stand before the command (nexusctl -i INV deploy),
# between a command group and its command (nexusctl marketplace -i INV
# enable) and after the command. Each place has its own dest, so that
# argparse never lets the defaults of one place overwrite the values given
# at another; merge_target_options folds them: the later place wins, -e
# accumulates in order, -v adds up.
TARGET_PLACES = ("global", "group", "")
TARGET_OPTIONS = (("inventory", "-i/--inventory"), ("limit", "-l/--limit"), ("extra_vars", "-e/--extra-vars"),
                  ("verbose", "-v/--verbose"))


def add_target_arguments(parser, place="", default_inventory=DEFAULT_INVENTORY):
    """-i -l -e -v on ``parser``. ``place``: "global" (the main parser),
    "group" (marketplace, audit) or "" (a command that runs on hosts)."""
    prefix = place + "_" if place else ""
    if place:
        where = "; also after the command, where it wins"
        inventory_help = "inventory file or directory (default: the sandbox)" + where
    else:
        where = ""
        inventory_help = ("inventory file or directory (default: the sandbox)" if default_inventory
                          else "inventory file or directory")
    parser.add_argument("-i", "--inventory", dest=prefix + "inventory", metavar="INVENTORY", help=inventory_help)
    parser.add_argument("-l", "--limit", dest=prefix + "limit", metavar="SUBSET",
                        help="limit to these hosts or groups, like ansible-playbook --limit" + where)
    parser.add_argument("-e", "--extra-vars", dest=prefix + "extra_vars", action="append", metavar="VARS",
                        help="extra variables exactly as ansible-playbook -e takes them: key=value pairs with "
                             "shell-like quoting, a JSON or YAML mapping, or @FILE; repeatable, merged left to "
                             "right" + ("; before the command's own" if place else ""))
    parser.add_argument("-v", "--verbose", dest=prefix + "verbose", action="count",
                        help="more output, as for ansible-playbook (counts add up wherever they stand)")
    if not place:
        parser.set_defaults(target_default_inventory=default_inventory)


def merge_target_options(args, command="this command"):
    """Fold the target options of every place into args.inventory, limit,
    extra_vars and verbose. Returns a usage problem, or None."""
    merged = {}
    for name, dummy in TARGET_OPTIONS:
        given = [getattr(args, (place + "_" if place else "") + name, None) for place in TARGET_PLACES]
        given = [value for value in given if value is not None]
        if name == "extra_vars":
            merged[name] = (given, [item for items in given for item in items])
        elif name == "verbose":
            merged[name] = (given, sum(given))
        else:
            merged[name] = (given, given[-1] if given else None)
    if not hasattr(args, "target_default_inventory"):
        named = [flag for name, flag in TARGET_OPTIONS if merged[name][0]]
        if named:
            return ("%s reaches no host and takes no %s; target options go with the commands that run on "
                    "hosts (deploy, precheck, unlock, marketplace, launch, guard, rollback, status, audit verify, audit tail)"
                    % (command, ", ".join(named)))
        return None
    inventory = merged["inventory"][1]
    args.inventory = inventory if inventory is not None else args.target_default_inventory
    args.limit = merged["limit"][1]
    args.extra_vars = merged["extra_vars"][1]
    args.verbose = merged["verbose"][1]
    return None


# ---------------------------------------------------------------- -e

EXTRA_VARS_FORMS = ("key=value pairs (quote values with spaces: key=\"two words\"), a JSON or YAML mapping "
                    "({...}), or @FILE holding a mapping")


def read_extra_vars(items):
    """(values, words) of the -e arguments ``items``.

    ``words`` go to ansible-playbook as they are, one ``-e`` each, so the
    run reads them with its own rules (quoting, types, templating, vault);
    only @FILE becomes an absolute path, because ansible-runner starts the
    run in another directory. ``values`` is what that run will see, merged
    left to right, read here with the same parser (the steps of ansible's
    load_extra_vars: parse_kv, its YAML loader, combine_vars), so nexusctl
    can check the arguments before a run and read the few it needs. A
    vault-encrypted file is left to ansible-playbook: nothing is decrypted
    here, so no secret from it reaches nexusctl or ansible-runner's records.

    Stricter than ansible-playbook in one way: a word that is no key=value
    pair (``-e fraud``) is refused; ansible-playbook would quietly define a
    variable named _raw_params. Raises ValueError naming the argument."""
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.splitter import parse_kv
    from ansible.parsing.vault import is_encrypted_file
    from ansible.utils.vars import combine_vars

    loader = DataLoader()
    values, words = {}, []
    for item in items:
        if not item:
            continue    # ansible-playbook skips an empty -e too
        shown = "-e %s" % shlex.quote(item)
        try:
            if item.startswith("@"):
                path = loader.path_dwim(item[1:])
                if not os.path.isfile(path):
                    raise ValueError("%s: no such file %s; expected @FILE naming a JSON or YAML file that holds "
                                     "a mapping" % (shown, path))
                with open(path, "rb") as handle:
                    encrypted = is_encrypted_file(handle)
                data = {} if encrypted else loader.load_from_file(path, cache="none")
                item = "@" + path
            elif item[0] in "/.":
                raise ValueError("%s: looks like a file name; expected @FILE (with the @), or %s"
                                 % (shown, EXTRA_VARS_FORMS))
            elif item[0] in "[{":
                data = loader.load(item)
            else:
                data = parse_kv(item)
                if "_raw_params" in data:
                    raise ValueError("%s: %r is not a key=value pair; expected %s"
                                     % (shown, data["_raw_params"], EXTRA_VARS_FORMS))
        except AnsibleError as exc:
            raise ValueError("%s: %s; expected %s" % (shown, str(exc).strip().splitlines()[0], EXTRA_VARS_FORMS))
        if not isinstance(data, Mapping):
            raise ValueError("%s: holds %s, not a mapping; expected %s" % (shown, _kind(data), EXTRA_VARS_FORMS))
        values = combine_vars(values, data)
        words.extend(["-e", item])
    return values, words


def _kind(data):
    if data is None:
        return "nothing"
    for kinds, name in ((bool, "a boolean"), ((int, float), "a number"), (str, "a string"), (list, "a list")):
        if isinstance(data, kinds):
            return name
    return "a %s" % type(data).__name__


def parse_extra_vars(items):
    """The values of the -e arguments, as the run will see them."""
    return read_extra_vars(items)[0]


def pinned_refusal(items, own=None):
    """The refusal (plugin_utils/pinned_vars.py, the words the plays use) of
    a pinned variable or an approval secret among the -e ``items`` or the
    command's ``own`` extra vars, or ''. An -e that cannot be read is left
    to run_playbook, which names it. A vault-encrypted @FILE is not opened
    here; the run refuses what it holds."""
    try:
        values = parse_extra_vars(items or [])
    except ValueError:
        values = {}
    return pinned_vars.message(pinned_vars.refusals(values) + pinned_vars.refusals(own or {}))


# ---------------------------------------------------------------- ansible-runner's environment

# What a run may see of the operator's environment. ansible-runner starts
# from a copy of the whole process environment (there is no option to start
# empty), writes it to artifacts/<id>/command and hands it to
# ansible-playbook, whose modules on a local connection inherit it again.
# So whatever the shell exports (approver secrets, cloud keys, tokens)
# would be on disk after every run: the run gets only these.
RUNNER_ENV_NAMES = frozenset((
    # what ansible, ssh and Python read from a login shell
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR", "SSH_AUTH_SOCK",
    "KRB5CCNAME", "KRB5_CONFIG",
    # connections an inventory may use (community.docker, containers.podman)
    "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_API_VERSION", "DOCKER_TIMEOUT", "DOCKER_TLS",
    "DOCKER_TLS_VERIFY", "DOCKER_TLS_HOSTNAME", "DOCKER_CERT_PATH", "DOCKER_SSL_VERSION",
    "CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINER_SSHKEY", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF", "XDG_RUNTIME_DIR",
    # CA bundles and proxies for HTTPS from the controller
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    # what this collection reads: the approvals file nexusctl launch writes
    # (a path; the secrets stay in the file), the sandbox inventory's engine
    # socket, the operator name the deployment lock records
    "NEXUS_LAUNCH_APPROVALS_FILE", "NEXUS_SANDBOX_DOCKER_HOST", "NEXUS_OPERATOR",
))
# The locale, and the settings the operator gave ansible (ANSIBLE_CONFIG,
# ANSIBLE_COLLECTIONS_PATH and PATH are set below).
RUNNER_ENV_PREFIXES = ("LC_", "ANSIBLE_")
# Held back even under an allowed name or prefix: a name that says secret
# (ANSIBLE_VAULT_PASSWORD, ANSIBLE_GALAXY_SERVER_X_TOKEN) unless it names a
# file (the vault password file, a private key file), and a URL with a
# password in it (a proxy's).
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY|ACCESS_KEY|AUTH_KEY|SESSION_KEY")
FILE_NAME = re.compile(r"_(FILE|PATH|DIR)$")
URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:[^/@]*@")


def allowed_environment(environ):
    """(env, held_back): the variables of ``environ`` a run may see, and the
    names on the allow-list held back because they look like secrets."""
    env, held_back = {}, []
    for name, value in environ.items():
        if name not in RUNNER_ENV_NAMES and not name.startswith(RUNNER_ENV_PREFIXES):
            continue
        if (SECRET_NAME.search(name.upper()) and not FILE_NAME.search(name.upper())) or URL_PASSWORD.match(value):
            held_back.append(name)
            continue
        env[name] = value
    return env, sorted(held_back)


STDOUT_CALLBACK = "nexus_cos.launch.console"


def runner_environment(environ=None, stream=None):
    """The environment of an ansible-runner run: the allow-listed part of
    ``environ`` (default os.environ), with this collection's ansible.cfg,
    this venv's binaries first on PATH and this checkout as
    nexus_cos.launch. Says on ``stream`` which allowed names it held back."""
    environ = os.environ if environ is None else environ
    stream = stream or sys.stderr
    env, held_back = allowed_environment(environ)
    for name in held_back:
        stream.write("nexusctl: %s is not passed to the run: it looks like a secret, and ansible-runner writes "
                     "the environment to its artifacts; name a file holding it instead (the inventory, a vault, "
                     "a *_FILE setting)\n" % name)
    env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    # The plays' nexus_artifacts_dir default reads it: reports and audit heads
    # go to the state directory, never into an installed collection.
    env[state_dir.STATE_ENV] = current_state()[0]
    # The hints the plays print name nexusctl's own flags (operator_hints.py).
    env[operator_hints.DRIVER_ENV] = operator_hints.NEXUSCTL
    # ansible-runner replaces the stdout callback with its event callback,
    # which wraps the one this names (ansible.cfg's is not read): the run's
    # stdout in its artifacts reads as ansible-playbook's. The operator's own
    # choice wins.
    env["ANSIBLE_STDOUT_CALLBACK"] = environ.get("ANSIBLE_STDOUT_CALLBACK") or STDOUT_CALLBACK
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environ.get("PATH", os.defpath)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".collections") + os.pathsep + environ.get(
        "ANSIBLE_COLLECTIONS_PATH", os.path.expanduser("~/.ansible/collections"))
    return env


@contextlib.contextmanager
def _process_environment(env):
    """os.environ is exactly ``env`` inside: what ansible-runner copies,
    records and passes on. Restored on the way out, whatever happens."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_ansible_runner(prefix, **kwargs):
    """ansible_runner.run(**kwargs) in a new private data dir
    ``<state dir>/artifacts/runner/<prefix>*`` with the environment runner_environment
    gives: (result, private_data_dir). Every nexusctl run goes through here,
    so every run can be canceled (run_cancel.py): the result then has
    ``canceled_by`` (the signal's name) and ``killed`` (what did not end by
    itself and was killed)."""
    import ansible_runner

    env = runner_environment()
    dummy, runner_dir, keep = current_state()
    os.makedirs(runner_dir, exist_ok=True)
    private = tempfile.mkdtemp(prefix=prefix, dir=runner_dir)
    with run_cancel.Cancellation() as cancel:
        with _process_environment(env):
            result = ansible_runner.run(private_data_dir=private, project_dir=ROOT, quiet=True,
                                        cancel_callback=cancel, **kwargs)
        killed = cancel.finish()
    result.canceled_by = cancel.signal_name
    result.killed = killed
    # ~400 KB a run: the newest are kept (never the audit heads, which are not there).
    state_dir.rotate(runner_dir, keep)
    return result, private


class Progress(object):
    """One line a task result; the recap at the end."""

    MARK = {"runner_on_ok": "ok", "runner_on_failed": "FAILED", "runner_on_unreachable": "UNREACHABLE",
            "runner_on_skipped": "skip", "runner_item_on_failed": "FAILED"}
    # Actions whose display() lines are shown while their task runs (the
    # launch guard's progress): ansible-runner turns a display() outside a
    # callback into a "verbose" event carrying the running task.
    SPEAKERS = ("nexus_cos.launch.launch_guard",)
    # Bookkeeping before the work: argument validation (a role's implicit
    # "Validating arguments against arg spec" task, the pinned variables),
    # planning and the run's facts. Shown at -v; a failure always shows.
    QUIET = ("validate_argument_spec", "set_fact", "nexus_cos.launch.pinned_vars", "nexus_cos.launch.precheck_plan")

    def __init__(self, stream=None, verbose=0):
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.failures = []
        self.run_id = self.run_stamp = None
        # {host: message lines shown}: the run's summary and its final
        # failure repeat the precheck table and failures already shown.
        self.said = {}
        self.preview = None     # a check run's gate verdicts (set_stats nexus_preview)

    def __call__(self, event):
        kind = event.get("event")
        data = event.get("event_data", {})
        facts = (data.get("res") or {}).get("ansible_facts") if kind == "runner_on_ok" else None
        if isinstance(facts, dict) and facts.get("nexus_run_id"):
            # launch_context announces the run; said again if the run is cut short.
            self.run_id, self.run_stamp = facts["nexus_run_id"], facts.get("nexus_run_stamp")
        if kind == "playbook_on_play_start":
            self._say("== %s" % data.get("play", ""))
        if kind == "playbook_on_stats":
            self.preview = (data.get("artifact_data") or {}).get("nexus_preview")
        if kind == "verbose" and (data.get("resolved_action") or data.get("task_action")) in self.SPEAKERS:
            for part in str(event.get("stdout") or "").splitlines():
                if part.strip():
                    self._say("            %s" % part.strip())
            return True
        mark = self.MARK.get(kind)
        if not mark or (mark in ("ok", "skip") and not self.verbose and (mark == "skip" or self._quiet(data))):
            return True
        res = data.get("res") or {}
        changed = " changed" if res.get("changed") else ""
        line = "%-11s %-24s %s%s" % (mark, data.get("host", ""), data.get("task", ""), changed)
        self._say(line)
        for diff in (res.get("diff") or []) if isinstance(res.get("diff"), list) else [res.get("diff")]:
            self._diff(diff)
        # A loop's diffs are in its items' results (the PF files of an activation).
        for item in res.get("results") or [] if isinstance(res.get("results"), list) else []:
            if isinstance(item, dict) and item.get("changed"):
                self._diff(item.get("diff"))
        if mark == "ok" and data.get("task_action") in ("debug", "ansible.builtin.debug") and "msg" in res:
            # What a play says to the operator (tables, where the logs are).
            msg = res["msg"]
            self._say_once(data.get("host"), msg if isinstance(msg, list) else str(msg).splitlines(), remember=False)
        if mark in ("FAILED", "UNREACHABLE") and not data.get("ignore_errors"):
            msg = res.get("msg", "")
            if isinstance(msg, list):
                msg = "\n".join(str(m) for m in msg)
            if isinstance(res.get("table"), list):
                # A precheck refusal: its table first, as the console callback shows it.
                self._say_once(data.get("host"), res["table"])
            self._say_once(data.get("host"), str(msg).splitlines())
            self.failures.append((data.get("host"), data.get("task"), msg))
        return True

    def _say_once(self, host, lines, remember=True):
        """Says the lines ``host`` was not already told; ``remember``: a
        failure's lines and the precheck table, which later messages repeat
        (a play's own messages are not: two alike both show)."""
        said = self.said.setdefault(host, set())
        for part in lines:
            if not part.strip() or part not in said:
                if remember:
                    said.add(part)
                self._say("            %s" % part)

    def _quiet(self, data):
        action = data.get("resolved_action") or data.get("task_action") or ""
        return (action[len("ansible.builtin."):] if action.startswith("ansible.builtin.") else action) in self.QUIET

    def _diff(self, diff):
        """A task's --diff, as ansible-playbook would show it."""
        if not isinstance(diff, dict):
            return
        if diff.get("prepared"):
            text = diff["prepared"]
        elif "before" in diff and "after" in diff and isinstance(diff["before"], str):
            import difflib
            text = "".join(difflib.unified_diff(
                diff["before"].splitlines(True), diff["after"].splitlines(True),
                diff.get("before_header", "before"), diff.get("after_header", "after")))
        else:
            return
        for part in text.splitlines():
            self._say("            %s" % part)

    def _say(self, text):
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except OSError:
            pass    # the terminal is gone (SIGHUP): the run goes on to its end or its cancel


# ---------------------------------------------------------------- a run and its outcome
CUT_OFF = "Module result deserialization failed"


def interruption(result, messages=()):
    """What cut a run short, in words; None when it ended on its own.
    ``messages``: the failure messages the run reported."""
    if getattr(result, "canceled_by", None):
        return canceled_text(result)
    if result.status == "timeout":
        return "ansible-runner stopped the run at its time limit"
    if result.status == "canceled":
        return "the run was canceled"
    if result.status not in ("successful", "failed"):
        return "ansible-runner ended with status %s" % result.status
    if result.rc is None:
        # pexpect gives no exit status exactly when a signal ended the process.
        return "ansible-playbook was killed before it could exit (by a signal: kill, the OOM killer, a closed session)"
    hosts = sorted(set(host or "?" for host, msg in messages if CUT_OFF in str(msg)))
    if not hosts:
        try:
            with result.stdout as handle:
                hosts = ["?"] if CUT_OFF in handle.read() else []
        except Exception:    # no stdout artifact: nothing more to learn from it
            hosts = []
    if hosts:
        return ("a module's result never came back from %s (%s): the module was cut off mid-run (killed, out of "
                "memory, or the connection dropped)" % (", ".join(hosts), CUT_OFF))
    return None


def canceled_text(result):
    """A run nexusctl canceled (run_cancel.py), in words."""
    killed = getattr(result, "killed", None) or []
    text = "canceled by %s" % result.canceled_by
    if killed:
        text += ("; %d of the processes it started did not end within %d s of the signal and were killed (SIGKILL), "
                 "so their end records may be missing: %s" % (
                     len(killed), int(run_cancel.GRACE_SECONDS),
                     ", ".join("%d %s" % (pid, cmd[:60]) for pid, cmd in killed[:5])))
    else:
        text += "; ansible-playbook and every process it started have ended"
    return text


def exit_code_of_interruption(result):
    """EXIT_CANCELED for a run nexusctl canceled, else EXIT_ERROR."""
    return EXIT_CANCELED if getattr(result, "canceled_by", None) else EXIT_ERROR


def _print_err(text):
    try:
        print(text, file=sys.stderr)
    except OSError:
        pass    # the terminal is gone (SIGHUP): the exit code still says it


def report_interruption(what, args, private, run_id=None, run_stamp=None, changes=True):
    """Say what happened and what to do next, without claiming anything
    about the host's state: nexusctl did not read it after the cut."""
    def say(text):
        _print_err("nexusctl: " + text)

    def command(*words):
        return " ".join(["nexusctl"] + [w for w in words if w])

    target = "-i %s" % shlex.quote(args.inventory) if getattr(args, "inventory", None) else ""
    try:
        audit_dir = "<nexus_audit_dir, default %s>" % host_paths.host_default("nexus_audit_dir")
    except host_paths.HostPathsError:
        audit_dir = "<nexus_audit_dir>"
    say("the run did not finish: %s." % what)
    if changes:
        say("what %s changed on the host before that is not known here. Next:"
            % ("run %s" % run_id if run_id else "the run"))
        say("  %s: the deployment lock (still held by the run that is gone?), the flags and the access "
            "mode as they are now" % command("status", target))
        say("  %s: breaks the lock once you are sure no run holds it (a next run from this "
            "controller takes it over by itself)" % command("unlock", target, "--reason TEXT"))
        say("  %s: puts back the files as that run found them, if it got as far as its snapshot; "
            "on the host, without the controller: sudo %s/%s"
            % (command("rollback", target, run_id or "RUN"), audit_dir,
               audit_log.script_name("rollback", run_stamp or "<run stamp>")))
    else:
        say("this command only reads, so it changed nothing; run it again")
    say("ansible-runner's records of the run: %s" % private)


def no_hosts_matched(result, playbook, args):
    """The error when the run reached no host, else None. ansible-playbook
    ends a play whose pattern matches nothing with rc 0 ("skipping: no hosts
    matched"): a deploy or an emergency rollback that did nothing must not
    pass for one that worked. Told by ansible-runner: a play said no hosts
    matched and the recap lists no host at all (tags that select no task
    leave the recap empty too, but match their hosts)."""
    stats = result.stats
    if not isinstance(stats, dict) or "processed" not in stats or stats["processed"]:
        return None
    try:
        if not any(event.get("event") == "playbook_on_no_hosts_matched" for event in result.events):
            return None
    except (AttributeError, OSError, ValueError):
        return None
    target = "the hosts of rollback_hosts (default group nexus_vps)" if playbook == "rollback.yml" \
        else "group nexus_vps"
    limit = getattr(args, "limit", None)
    return ("nexusctl: no hosts matched: playbooks/%s runs on %s%s, and inventory %s has none; nothing ran. Expected "
            "at least one host: check the inventory%s" % (
                playbook, target, " limited to %r (-l)" % limit if limit else "", args.inventory,
                " and -l" if limit else ""))


def run_playbook(playbook, args, extravars=None, check=False, diff=False, quiet=False, tags=None):
    """Run ``playbooks/<playbook>`` and return nexusctl's exit code. The
    command's own settings (``extravars``) come after the operator's -e and
    win over them."""
    inventory = os.path.abspath(args.inventory)
    if not os.path.exists(inventory):
        print("nexusctl: -i %s: no such inventory file or directory" % args.inventory, file=sys.stderr)
        return EXIT_USAGE
    try:
        dummy, words = read_extra_vars(args.extra_vars)
    except ValueError as exc:
        print("nexusctl: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    refusal = pinned_refusal(args.extra_vars, extravars)
    if refusal:
        print("nexusctl: %s" % refusal, file=sys.stderr)
        return EXIT_USAGE
    if check:
        words.append("--check")
    if diff:
        words.append("--diff")
    progress = Progress(verbose=args.verbose)
    result, private = run_ansible_runner(
        "nexusctl-", playbook=os.path.join(PLAYBOOK_DIR, playbook), inventory=inventory, limit=args.limit,
        extravars=extravars or None, cmdline=" ".join(shlex.quote(w) for w in words) or None,
        event_handler=None if quiet else progress, verbosity=args.verbose or None, json_mode=False, tags=tags)
    code = _outcome(playbook, args, result, private, progress, check)
    json_output.record(run_summary(playbook, result, private, progress, check=check))
    return code


def run_summary(playbook, result, private, progress, check=False):
    """A run as nexusctl --json shows it (its ``result``): playbook, check,
    status and rc (ansible-runner's), run_id, the recap's stats by kind and
    host, each failure {host, task, msg}, and runner_dir (the run's records)."""
    stats = result.stats if isinstance(result.stats, dict) else {}
    return {
        "playbook": playbook, "check": bool(check), "status": result.status, "rc": result.rc,
        "run_id": progress.run_id, "stats": dict((kind, stats.get(kind) or {}) for kind in (
            "ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")),
        "failures": [{"host": host, "task": task, "msg": msg if isinstance(msg, str) else str(msg)}
                     for host, task, msg in progress.failures],
        "canceled_by": getattr(result, "canceled_by", None), "runner_dir": private}


def _outcome(playbook, args, result, private, progress, check=False):
    """nexusctl's exit code of a run, saying on stderr what went wrong."""
    stats = result.stats or {}
    nothing = no_hosts_matched(result, playbook, args)
    if nothing:
        print(nothing, file=sys.stderr)
        return EXIT_USAGE
    if result.rc == 0 and result.status == "successful":
        return check_mode.preview_exit_code(args, stats, progress.preview) if check else EXIT_OK
    what = interruption(result, [(host, msg) for host, dummy, msg in progress.failures])
    if what:
        report_interruption(what, args, private, progress.run_id, progress.run_stamp)
        return exit_code_of_interruption(result)
    if stats.get("dark"):
        return EXIT_UNREACHABLE
    if stats.get("failures") or result.rc == 2:
        return EXIT_REFUSED
    print("nexusctl: ansible-runner ended with %s (rc %s); its records: %s" % (result.status, result.rc, private),
          file=sys.stderr)
    return EXIT_ERROR
