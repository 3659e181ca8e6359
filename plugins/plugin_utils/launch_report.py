# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The launch report: one self-contained HTML page of a run (inline CSS and
SVG, no script, no external asset), for the change ticket, the auditors and
AWX artifacts.

Two pure functions. ``report_data`` picks from a run's results (precheck,
gate, activation, guard, audit head, scripts) the fields the page shows, by
name: an approval secret, a token or a password hash given to it is never
copied, so neither the stored data (``summary-HOST.json``) nor the page can
hold one. ``render`` turns that data into the page; every value is escaped.
``merge`` lays a later part of the run (the guard, after the lock is
released) over the stored data."""

from __future__ import annotations

import html
import json

from ansible_collections.nexus_cos.launch.plugins.module_utils.utc_time import audit_time

DATA_VERSION = 1
# Sections of the data; ``merge`` replaces a section given whole.
SECTIONS = ("run", "prechecks", "gate", "history", "timeline", "guard", "chain", "commands", "failures")
OUTCOMES = {
    # outcome: (headline, css class)
    "launched": ("LAUNCHED", "ok"),
    "succeeded": ("SUCCEEDED", "ok"),
    "refused": ("REFUSED", "bad"),
    "rolled_back": ("ROLLED BACK", "bad"),
    "switch_pulled": ("EMERGENCY SWITCH PULLED", "bad"),
    "failed": ("FAILED", "bad"),
    "check": ("CHECK ONLY: NOTHING CHANGED", "warn"),
}
MODE_COLOURS = {"founder": "#6b7280", "public_soft": "#d97706", "public_full": "#2563eb"}


# ---------------------------------------------------------------- data

def _text(value, default=""):
    return default if value is None else str(value)


def _utc(seconds):
    """Epoch seconds as UTC text; '' for anything else. Before ansible-core
    2.19 a template gives text ("1764583200"), so digits are taken too."""
    if isinstance(seconds, str):
        try:
            seconds = float(seconds)
        except ValueError:
            return ""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return ""
    return audit_time(seconds) + " UTC"


def _pairs(text):
    """'alice:founder,bob:technical_lead' as [{name, role}]."""
    out = []
    for item in _text(text).split(","):
        if item.strip():
            name, dummy, role = item.strip().partition(":")
            out.append({"name": name, "role": role})
    return out


# The results report_data takes, by name.
PARTS = ("run", "precheck", "gate", "waivers", "rollback", "guard", "audit_head", "snapshot", "failures", "timeline")


def report_data(results):
    """The report's data from a run's ``results`` ({part: result}, every part
    optional), each picked field by field. Raises ValueError naming an
    unknown part.

    ``run``: {id, playbook, host, status, started, audit_log, check}; ``precheck``:
    the precheck action's result; ``gate``: the activation_gate result; ``waivers``:
    {gate: reason}; ``rollback``: {ms, problem} of an automatic rollback; ``guard``:
    the launch_guard result; ``audit_head``: {seq, chain}; ``snapshot``: the
    snapshot result (its rendered scripts); ``failures``: lines;
    ``timeline``: [{at, event, detail}] (at in seconds since the epoch)."""
    unknown = sorted(set(results) - set(PARTS))
    if unknown:
        raise ValueError("%s; expected %s" % (", ".join(unknown), ", ".join(PARTS)))
    run, precheck, gate, waivers, rollback, guard, audit_head, snapshot, failures, timeline = [
        results.get(part) or None for part in PARTS]
    data = {"version": DATA_VERSION}
    if run:
        data["run"] = dict((k, _text(run.get(k))) for k in ("id", "playbook", "host", "status", "audit_log"))
        data["run"]["started_utc"] = _utc(run.get("started"))
        data["run"]["check"] = bool(run.get("check"))
    if precheck and isinstance(precheck.get("results"), list):
        data["prechecks"] = {
            "summary": dict((k, precheck.get("summary", {}).get(k, 0)) for k in ("passed", "failed", "warned", "skipped")),
            "results": [{"number": r.get("number"), "name": _text(r.get("name")), "severity": _text(r.get("severity")),
                         "status": _text(r.get("status")), "duration_ms": r.get("duration_ms") or 0,
                         "msg": _text(r.get("msg")), "hint": _text(r.get("hint")),
                         "skip": _text((r.get("override") or {}).get("skip"))}
                        for r in precheck["results"] if isinstance(r, dict)]}
    if gate and (gate.get("key") is not None or gate.get("refused")):
        entry = gate.get("entry") or {}
        waived = [w for w in _text(entry.get("waived")).split(",") if w]
        data["gate"] = {"key": _text(gate.get("key")), "label": _text(gate.get("label") or gate.get("key") or "activation gate"),
                        "refused": bool(gate.get("refused")), "reason": _text(gate.get("msg")),
                        "already_applied": bool(gate.get("already_applied")), "at_utc": _text(gate.get("now_utc")),
                        "forced": [_text(f) for f in gate.get("forced") or []],
                        "forced_reason": _text(entry.get("forced_reason")),
                        "notes": [_text(n) for n in gate.get("notes") or []],
                        "approvers": _pairs(entry.get("approvers")),
                        "waivers": [{"gate": w, "reason": _text((waivers or {}).get(w))} for w in waived]}
        data["history"] = [{"key": _text(e.get("key")), "at_utc": _text(e.get("applied_at_utc")),
                            "run_id": _text(e.get("run_id")), "approvers": _text(e.get("approvers")),
                            "waived": _text(e.get("waived")), "forced": bool(e.get("forced_reason")),
                            "undone": _text(e.get("undone_text"))}
                           for e in gate.get("history") or [] if isinstance(e, dict)]
    if rollback:
        data["rollback"] = {"ms": rollback.get("ms"), "problem": _text(rollback.get("problem"))}
    if guard and guard.get("outcome"):
        started = guard.get("started_at")
        data["guard"] = {"outcome": _text(guard.get("outcome")), "looks": guard.get("looks") or 0,
                         "worst": _text(guard.get("worst")), "watched_s": guard.get("watched_s") or 0,
                         "expect_mode": _text(guard.get("expect_mode")), "msg": _text(guard.get("msg")),
                         "started_utc": _utc(started),
                         "breach": "; ".join(_text(r) for r in (guard.get("breach") or {}).get("reasons") or []),
                         "samples": [{"t": s.get("t"), "available": bool(s.get("available")),
                                      "latency_ms": s.get("latency_ms"), "mode": _text(s.get("mode")),
                                      "level": _text(s.get("level"))}
                                     for s in guard.get("samples") or [] if isinstance(s, dict)]}
    if audit_head:
        data["chain"] = {"status": "recorded", "seq": audit_head.get("seq"), "head": _text(audit_head.get("chain")),
                         "file": _text(audit_head.get("file"))}
    if snapshot:
        data["commands"] = dict((name, "sudo %s" % snapshot[key]) for name, key in
                                (("rollback", "rollback_script"), ("emergency", "emergency_script")) if snapshot.get(key))
    if failures:
        data["failures"] = [_text(line) for line in failures]
    if timeline:
        data["timeline"] = [{"at_utc": _utc(t.get("at")), "event": _text(t.get("event")), "detail": _text(t.get("detail"))}
                            for t in timeline if isinstance(t, dict)]
    return data


def load_data(path):
    """The report data stored at ``path`` (the .json beside a page), or None
    when there is none. ValueError names the file when it is not report data
    of this version: the one reader of the format, for the run that adds to a
    report and for nexusctl report."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError("%s: could not read it as JSON (%s); expected the report data a run stores beside its summary"
                         % (path, exc))
    if not isinstance(data, dict) or data.get("version") != DATA_VERSION:
        raise ValueError("%s: not launch report data of version %d; expected the JSON object a run stores beside its "
                         "summary" % (path, DATA_VERSION))
    return data


def merge(stored, later):
    """``stored`` with the sections of ``later`` laid over it; the timelines
    are joined (a later part of the same run adds its steps)."""
    out = dict(stored or {})
    for key, value in (later or {}).items():
        if key == "timeline":
            out[key] = list(out.get(key) or []) + list(value)
        else:
            out[key] = value
    return out


def outcome(data):
    """launched, succeeded, refused, rolled_back, switch_pulled, failed or check."""
    guard = data.get("guard") or {}
    gate = data.get("gate") or {}
    run = data.get("run") or {}
    if guard.get("outcome") == "switch_pulled":
        return "switch_pulled"
    if gate.get("refused"):
        return "refused"
    if data.get("rollback"):
        return "rolled_back"
    if str(run.get("status")).lower() == "failed" or data.get("failures") or guard.get("outcome") in ("breach", "error"):
        return "failed"
    if run.get("check"):
        return "check"
    if gate and not gate.get("already_applied") and gate.get("key", "").startswith("launch_"):
        return "launched"
    return "succeeded"


# ---------------------------------------------------------------- page

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f3f4f6}
main{max-width:1000px;margin:0 auto;padding:20px 28px;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:22px 0 6px;border-bottom:1px solid #e5e7eb;padding-bottom:3px}
.banner{padding:12px 16px;border-radius:6px;font-size:22px;font-weight:700;letter-spacing:.04em;margin:10px 0}
.banner small{display:block;font-size:13px;font-weight:400;letter-spacing:0}
.ok{background:#dcfce7;color:#14532d}.bad{background:#fee2e2;color:#7f1d1d}.warn{background:#fef3c7;color:#78350f}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 6px;vertical-align:top}
th{background:#f9fafb;border-bottom:1px solid #d1d5db}tr+tr td{border-top:1px solid #f3f4f6}
.s{font-weight:700;border-radius:3px;padding:0 4px}
.PASS{color:#166534}.FAIL{background:#fee2e2;color:#991b1b}.WARN{background:#fef3c7;color:#92400e}.SKIP{color:#6b7280}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#111827;color:#f9fafb;padding:8px 10px;border-radius:4px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
.fix{color:#1e3a8a}.muted{color:#6b7280}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dt{color:#6b7280}dd{margin:0}td .mono{white-space:nowrap}
"""


def _e(value):
    return html.escape(_text(value), quote=True)


def _dl(pairs):
    rows = "".join("<dt>%s</dt><dd>%s</dd>" % (_e(k), v) for k, v in pairs if v)
    return "<dl>%s</dl>" % rows if rows else ""


def _table(head, rows):
    return "<table><tr>%s</tr>%s</table>" % ("".join("<th>%s</th>" % _e(h) for h in head),
                                             "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % c for c in row)
                                                     for row in rows))


def _prechecks(p):
    s = p.get("summary") or {}
    rows = []
    for r in p.get("results") or []:
        result = _e(r["msg"])
        if r["status"] == "FAIL":
            if r["hint"]:
                result += '<br><span class="fix">fix: %s</span>' % _e(r["hint"])
            if r["skip"]:
                result += '<br><span class="muted">skip it: <code>%s</code></span>' % _e(r["skip"])
        number = r["number"] if isinstance(r["number"], int) else 0
        rows.append(['<span class="s %s">%s</span>' % (_e(r["status"]), _e(r["status"])), "%02d" % number,
                     _e(r["name"]), _e(r["severity"]), _e(r["duration_ms"]), result])
    return ("<h2>Prechecks: %s passed, %s failed, %s warned, %s skipped</h2>"
            % tuple(_e(s.get(k, 0)) for k in ("passed", "failed", "warned", "skipped"))
            + _table(["", "#", "check", "sev", "ms", "result"], rows))


def _gate(g):
    verdict = '<span class="s FAIL">REFUSED</span>' if g["refused"] else (
        '<span class="s PASS">already applied</span>' if g["already_applied"] else '<span class="s PASS">OPEN</span>')
    out = "<h2>Gate, approvals and waivers</h2>" + _dl([
        ("gate", "%s %s" % (_e(g["label"]), verdict)),
        ("reason", "<br>".join(_e(line) for line in g["reason"].splitlines())),
        ("decided", _e(g["at_utc"])),
        ("approved by", ", ".join("%s (%s)" % (_e(a["name"]), _e(a["role"])) for a in g["approvers"])
         or '<span class="muted">none on record</span>'),
        ("waived", "<br>".join("%s: %s" % (_e(w["gate"]), _e(w["reason"])) for w in g["waivers"])),
        ("forced", "%s%s" % (_e(", ".join(g["forced"])), (": " + _e(g["forced_reason"])) if g["forced_reason"] else "")),
        ("notes", "<br>".join(_e(n) for n in g["notes"]))])
    return out


def _history(entries):
    rows = [['<span class="mono">%s</span>' % _e(e["at_utc"]), _e(e["key"]), '<span class="mono">%s</span>' % _e(e["run_id"]),
             _e(e["approvers"]),
             _e(e["waived"]), "yes" if e["forced"] else "",
             '<span class="s WARN">%s</span>' % _e(e["undone"]) if e["undone"] else "in the ledger"]
            for e in sorted(entries, key=lambda e: e["at_utc"])]
    return "<h2>The launch across days (activation ledger)</h2>" + _table(
        ["applied", "step", "run", "approvers", "waived", "forced", "state"], rows)


def _timeline(items):
    rows = [['<span class="mono">%s</span>' % _e(t["at_utc"]), '<span class="mono">%s</span>' % _e(t["event"]),
             _e(t["detail"])] for t in items]
    return "<h2>Timeline of the run</h2>" + _table(["time", "step", "detail"], rows)


def _chart(samples, expect_mode):
    """Mode and availability strips over the latency line, one x scale: the
    seconds of the watch."""
    width, left, right = 920, 56, 10
    plot = width - left - right
    pts = [s for s in samples if isinstance(s.get("t"), (int, float))]
    if not pts:
        return '<p class="muted">no samples kept</p>'
    # The last look gets the width of an average interval, as every other one.
    step = (pts[-1]["t"] - pts[0]["t"]) / (len(pts) - 1) if len(pts) > 1 else 1.0
    t_end = max(pts[-1]["t"] + step, 1.0)
    lat = [s["latency_ms"] for s in pts if isinstance(s.get("latency_ms"), (int, float)) and s["available"]]
    top = max(lat + [1])

    def x(t):
        return left + plot * t / t_end

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="190" viewBox="0 0 %d 190" role="img" shape-rendering="crispEdges" '
             'aria-label="guard watch: mode, availability and latency">' % (width, width)]
    parts.append('<text x="0" y="16" font-size="11">mode</text><text x="0" y="40" font-size="11">up</text>'
                 '<text x="0" y="100" font-size="11">latency</text>')
    for i, s in enumerate(pts):
        x0 = x(s["t"])
        x1 = x(pts[i + 1]["t"]) if i + 1 < len(pts) else x(t_end)
        w = max(x1 - x0, 1.0)
        parts.append('<rect x="%.1f" y="6" width="%.1f" height="14" fill="%s"><title>%s</title></rect>'
                     % (x0, w, MODE_COLOURS.get(s["mode"], "#d1d5db"), _e(s["mode"] or "no answer")))
        parts.append('<rect x="%.1f" y="28" width="%.1f" height="14" fill="%s"/>'
                     % (x0, w, "#16a34a" if s["available"] else "#dc2626"))
    base, height = 170, 110
    # One line a stretch of answers: no latency is drawn across an outage.
    lines, current = [], []
    for s in pts:
        if s["available"] and isinstance(s.get("latency_ms"), (int, float)):
            current.append("%.1f,%.1f" % (x(s["t"]), base - height * s["latency_ms"] / top))
        elif current:
            lines.append(current)
            current = []
    lines += [current] if current else []
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#9ca3af"/>' % (left, base, width - right, base))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e5e7eb"/>' % (left, base - height, width - right,
                                                                               base - height))
    for line in lines:
        parts.append('<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="%s"/>' % " ".join(line))
    parts.append('<text x="%d" y="%d" font-size="10" text-anchor="end">%s ms</text>' % (left - 4, base - height + 4, _e(top)))
    parts.append('<text x="%d" y="%d" font-size="10" text-anchor="end">0</text>' % (left - 4, base + 3))
    parts.append('<text x="%d" y="186" font-size="10">0 s</text>' % left)
    parts.append('<text x="%d" y="186" font-size="10" text-anchor="end">%d s</text>' % (width - right, t_end))
    parts.append("</svg>")
    legend = " ".join('<span style="color:%s">&#9632;</span> %s' % (c, _e(m)) for m, c in MODE_COLOURS.items())
    legend += (' &nbsp; <span style="color:#16a34a">&#9632;</span> up <span style="color:#dc2626">&#9632;</span> down;'
               ' expected mode: %s' % _e(expect_mode or "-"))
    return "".join(parts) + '<div class="muted">%s</div>' % legend


def _guard(g):
    return ("<h2>The guard's watch</h2>" + _dl([
        ("outcome", "<b>%s</b> (worst: %s)" % (_e(g["outcome"]), _e(g["worst"]))),
        ("window", "%s looks over %s s from %s" % (_e(g["looks"]), _e(g["watched_s"]), _e(g["started_utc"]))),
        ("breach", _e(g["breach"])), ("summary", _e(g["msg"]))]) + _chart(g["samples"], g["expect_mode"]))


def _chain(c):
    return "<h2>Audit chain</h2>" + _dl([
        ("status", "<b>%s</b>" % _e(c.get("status"))),
        ("head", '<span class="mono">seq %s %s</span>' % (_e(c.get("seq")), _e(c.get("head")))),
        ("file", '<span class="mono">%s</span>' % _e(c.get("file")) if c.get("file") else "")])


def _commands(c):
    out = "<h2>Rollback and emergency (on the host, no controller needed)</h2>"
    if c.get("rollback"):
        out += "<div>Undo this run's change:</div><pre>%s</pre>" % _e(c["rollback"])
    if c.get("emergency"):
        out += "<div>The kill switch (founder mode, signups and new transactions off):</div><pre>%s</pre>" % _e(
            c["emergency"])
    out += ("<div>From the controller:</div><pre>nexusctl rollback\nnexusctl rollback --emergency --reason TEXT</pre>")
    return out


def render(data):
    """The page for ``data`` (as report_data makes it): a str of HTML."""
    run = data.get("run") or {}
    result = outcome(data)
    headline, css = OUTCOMES[result]
    sub = ""
    if result == "refused":
        sub = (data.get("gate") or {}).get("reason", "").splitlines()[:1]
        sub = sub[0] if sub else ""
    elif data.get("failures"):
        sub = data["failures"][0]
    elif (data.get("guard") or {}).get("msg"):
        sub = data["guard"]["msg"]
    body = ['<h1>Nexus COS %s run <span class="mono">%s</span></h1>' % (_e(run.get("playbook") or ""), _e(run.get("id"))),
            '<div class="muted">host %s &middot; started %s &middot; audit log %s</div>'
            % (_e(run.get("host") or "-"), _e(run.get("started_utc") or "-"), _e(run.get("audit_log") or "-")),
            '<div class="banner %s" id="outcome">%s<small>%s</small></div>' % (css, _e(headline), _e(sub))]
    if data.get("failures"):
        body.append("<h2>What failed</h2><pre>%s</pre>" % _e("\n".join(data["failures"])))
    if data.get("rollback"):
        r = data["rollback"]
        body.append("<h2>Automatic rollback</h2>" + _dl([("why", _e(r.get("problem"))), ("took", "%s ms" % _e(r.get("ms")))]))
    for part, section in (("prechecks", _prechecks), ("gate", _gate), ("timeline", _timeline), ("history", _history),
                          ("guard", _guard), ("chain", _chain)):
        if data.get(part):
            body.append(section(data[part]))
    body.append(_commands(data.get("commands") or {}))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Nexus COS run %s: %s</title><style>%s</style></head><body><main>%s</main></body></html>\n"
            % (_e(run.get("id")), _e(headline), CSS, "\n".join(body)))
