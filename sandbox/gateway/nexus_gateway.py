#!/usr/bin/env python3
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Test double of the Nexus COS gateway on port 4000, for the sandbox VPS.

It serves exactly what the platform's real flag service serves: the routes of
the platform's ``backend/core/feature-flag-service.js``, mounted as that file's
usage comment says on an Express 4 app (the platform backend's own
dependency) with ``express.json()``, plus the server's ``GET /health``
(DESIGN.md section 3).  A path the platform lacks gets Express's own 404 page.
Standard library only, so it runs on the sandbox's stock python3.

Faithful means quirks included, because the product has to cope with the
real service, not with a tidier one:

- ``FlagService`` is the platform's class method for method, over a small
  model of the JavaScript values it handles (truthiness, ``=== true``,
  property lookups that fall through to the prototypes, ``for..of``, strict
  mode assignment, ``JSON.parse``/``JSON.stringify``).  So an unknown name is
  ``enabled: false``, ``GET /api/feature-flags/constructor`` answers 200 and a
  ``PUT`` on ``__proto__`` changes every flag without an ``enabled`` key, as on
  Node.
- A ``requires`` cycle reached while evaluating a flag is the platform's
  unbounded recursion: Express's 500 page, or ``PUT``'s 400
  ``{"error": "Maximum call stack size exceeded"}``.
- A flag store that does not load leaves no flags at all (after a reload
  too): ``flags: []``, ``currentMode: none``, every health endpoint 503.
- ``PUT`` rewrites the whole file in place like ``fs.writeFileSync`` (no temp
  file, no fsync): ``JSON.stringify({version, updated, feature_flags,
  access_modes}, null, 2)``, no trailing newline, ``enabled`` as given.
- HTTP is Express 4.x on Node 20 with NODE_ENV=production: case-insensitive
  paths with an optional trailing slash, HEAD served by the GET routes, weak
  ETags and 304s, the router's own OPTIONS answers, the body parser's
  400/413/415 pages, and Node's bare 400 for what its parser rejects.

Not modelled (nothing in the product can reach them): the wording of log
lines, a non-cyclic ``requires`` chain deep enough to exhaust Node's stack,
JSON nested deeper than Python's recursion limit, UTF-7 bodies, Node's
parser limits other than the 16 KiB header limit.  Express 5 differs in two
answers: ``PUT`` without a JSON body is a 400 (``req.body`` is undefined) and
OPTIONS lists methods as ``GET, HEAD``.

Fault knobs (test equipment, not API): a JSON object in a file (default
/etc/nexus-cos/gateway-faults.json), read at every request, so a test can
break the gateway without a restart.  A missing or unreadable file, or {},
means no faults.  Each fault looks like what a failing Express service shows:

  delay_ms          number   every answer comes that much later (a slow event
                             loop or network)
  health_status     400-599  GET /health answers Express's error page with
                             that status (a handler that failed)
  status_overrides  {path: 400-599}  that path (matched as Express matches
                             routes) answers the error page with that status,
                             for every method, before anything else runs (a
                             middleware that rejects the request)
  reload_status     400-599  POST /api/feature-flags/reload answers the error
                             page with that status and does not reread
  stale_reload      true     reload answers its usual success body and does
                             not reread: what a second Node worker behind the
                             same port (cluster mode) shows when it was not
                             the one that got the reload
A status outside 400-599 is ignored: Express cannot answer an error with it.
"""

import argparse
import base64
import decimal
import email.utils
import errno
import hashlib
import http.client
import json
import math
import os
import re
import sys
import threading
import time
import urllib.parse
import zlib
from collections import namedtuple
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_FLAG_STORE = "/opt/nexus-cos/config/feature-flags.json"
DEFAULT_FAULTS_FILE = "/etc/nexus-cos/gateway-faults.json"
DEFAULT_PORT = 4000

# --------------------------------------------------------------------------- JavaScript values
#
# JSON null is None, numbers are floats (doubles, as in JavaScript), strings
# are str, objects are dicts (insertion order kept), arrays are JSArray.


class _Undefined:
    """JavaScript's ``undefined``."""

    __slots__ = ()

    def __repr__(self):
        return "undefined"

    def __bool__(self):
        return False


UNDEFINED = _Undefined()


class JSArray(list):
    """A JavaScript array: a list that also holds the named properties a PUT can set on it."""

    def __init__(self, items=()):
        super().__init__(items)
        self.props = {}


class Builtin:
    """An object of the JavaScript runtime itself: a prototype or one of its functions.

    A name the flag store does not define can still resolve to one of these
    (``flags.toString``), and a PUT can set ``enabled`` on it.  Node keeps that
    for the life of the process, across reloads; so does the realm here.
    """

    def __init__(self, label, proto, members=(), is_function=True):
        self.label = label
        self.proto = proto
        self.members = frozenset(members)
        self.is_function = is_function
        self.props = {}

    def __repr__(self):
        return "<%s>" % self.label


class JSError(Exception):
    """A JavaScript exception; str() is its ``message``."""


class JSTypeError(JSError):
    pass


class JSRangeError(JSError):
    pass


class URIError(JSError):
    pass


STACK_OVERFLOW = "Maximum call stack size exceeded"
_END = object()  # an exhausted iterator

# Own property names of the prototypes in Node 20 (Object.getOwnPropertyNames).
OBJECT_PROTO_NAMES = (
    "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__",
    "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__",
    "toLocaleString",
)
ARRAY_PROTO_NAMES = (
    "length", "constructor", "at", "concat", "copyWithin", "fill", "find", "findIndex", "findLast",
    "findLastIndex", "lastIndexOf", "pop", "push", "reverse", "shift", "unshift", "slice", "sort", "splice",
    "includes", "indexOf", "join", "keys", "entries", "values", "forEach", "filter", "flat", "flatMap", "map",
    "every", "some", "reduce", "reduceRight", "toLocaleString", "toString", "toReversed", "toSorted",
    "toSpliced", "with",
)
STRING_PROTO_NAMES = (
    "length", "constructor", "anchor", "at", "big", "blink", "bold", "charAt", "charCodeAt", "codePointAt",
    "concat", "endsWith", "fontcolor", "fontsize", "fixed", "includes", "indexOf", "isWellFormed", "italics",
    "lastIndexOf", "link", "localeCompare", "match", "matchAll", "normalize", "padEnd", "padStart", "repeat",
    "replace", "replaceAll", "search", "slice", "small", "split", "strike", "sub", "substr", "substring", "sup",
    "startsWith", "toString", "toWellFormed", "trim", "trimStart", "trimLeft", "trimEnd", "trimRight",
    "toLocaleLowerCase", "toLocaleUpperCase", "toLowerCase", "toUpperCase", "valueOf",
)
NUMBER_PROTO_NAMES = ("constructor", "toExponential", "toFixed", "toPrecision", "toString", "valueOf", "toLocaleString")
BOOLEAN_PROTO_NAMES = ("constructor", "toString", "valueOf")
FUNCTION_PROTO_NAMES = ("length", "name", "arguments", "caller", "constructor", "apply", "bind", "call", "toString")

# What String.prototype.trim (and so ToNumber) strips: WhiteSpace and LineTerminator.
_JS_SPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
             "\u2028\u2029\u202f\u205f\u3000\ufeff")
_JS_DECIMAL = re.compile(r"[+-]?(?:Infinity|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)")
_JS_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")


def truthy(value):
    """JavaScript's ToBoolean."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, float):
        return not (value == 0 or value != value)
    if isinstance(value, str):
        return value != ""
    return True


def js_number_str(number):
    """JavaScript's Number::toString (shortest digits that round-trip, ECMA-262 layout)."""
    if number != number:
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    if number < 0:
        return "-" + js_number_str(-number)
    _sign, digit_tuple, exponent = decimal.Decimal(repr(number)).normalize().as_tuple()
    digits = "".join(str(d) for d in digit_tuple)
    k, n = len(digits), len(digits) + exponent
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return "%se%s%d" % (mantissa, "+" if e >= 0 else "-", abs(e))


def utf16_units(text):
    """The string as JavaScript indexes it: UTF-16 code units."""
    units = []
    for char in text:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            units.append(chr(0xD800 + (code >> 10)))
            units.append(chr(0xDC00 + (code & 0x3FF)))
        else:
            units.append(char)
    return units


def array_index(key):
    """The array index a property key denotes, or None (ECMA-262: canonical, below 2**32 - 1)."""
    if key == "0":
        return 0
    if key and key.isascii() and key.isdigit() and key[0] != "0":
        number = int(key)
        return number if number <= 4294967294 else None
    return None


def js_key_order(keys):
    """Own property order of an ordinary object: array indices ascending, then insertion order."""
    indexed = sorted((array_index(key), key) for key in keys if array_index(key) is not None)
    return [key for _index, key in indexed] + [key for key in keys if array_index(key) is None]


def to_string(value):
    """JavaScript's ToString (template literals, property keys)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return js_number_str(value)
    if isinstance(value, JSArray):
        return ",".join("" if item is None or item is UNDEFINED else to_string(item) for item in value)
    if isinstance(value, Builtin) and value.is_function:
        return "function %s() { [native code] }" % value.label.rsplit(".", 1)[-1]
    return "[object Object]"


def to_number(value):
    """JavaScript's ToNumber."""
    if value is UNDEFINED:
        return math.nan
    if value is None:
        return 0.0
    if value is True or value is False:
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, JSArray):
        return to_number(to_string(value))
    if isinstance(value, str):
        text = value.strip(_JS_SPACE)
        if not text:
            return 0.0
        if _JS_DECIMAL.fullmatch(text):
            return float(text)
        radix = _JS_RADIX.fullmatch(text)
        if radix:
            base = {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()]
            try:
                return float(int(radix.group(2), base))
            except ValueError:
                return math.nan
        return math.nan
    return math.nan


class Realm:
    """The prototypes a lookup can fall through to, and what PUT has set on them."""

    def __init__(self):
        self.object_proto = Builtin("Object.prototype", None, OBJECT_PROTO_NAMES, is_function=False)
        self.function_proto = Builtin("Function.prototype", self.object_proto, FUNCTION_PROTO_NAMES)
        self.array_proto = Builtin("Array.prototype", self.object_proto, ARRAY_PROTO_NAMES, is_function=False)
        self.string_proto = Builtin("String.prototype", self.object_proto, STRING_PROTO_NAMES, is_function=False)
        self.number_proto = Builtin("Number.prototype", self.object_proto, NUMBER_PROTO_NAMES, is_function=False)
        self.boolean_proto = Builtin("Boolean.prototype", self.object_proto, BOOLEAN_PROTO_NAMES, is_function=False)
        self._functions = {}

    def proto_of(self, value):
        if isinstance(value, dict):
            return self.object_proto
        if isinstance(value, JSArray):
            return self.array_proto
        if isinstance(value, str):
            return self.string_proto
        if value is True or value is False:
            return self.boolean_proto
        if isinstance(value, float):
            return self.number_proto
        if isinstance(value, Builtin):
            return value.proto
        return None

    def _member(self, holder, key, receiver):
        """The value of a prototype's own built-in property ``key``."""
        if key == "__proto__":
            return self.proto_of(receiver)
        if key == "length":
            return 0.0
        if key == "name":
            return ""
        if key in ("arguments", "caller"):
            raise JSTypeError("'caller', 'callee', and 'arguments' properties may not be accessed on strict mode "
                              "functions or the arguments objects for calls to them")
        label = "%s.%s" % (holder.label, key)
        if label not in self._functions:
            self._functions[label] = Builtin(label, self.function_proto)
        return self._functions[label]

    def get(self, value, key):
        """``value[key]``: own property, else the prototype chain, else undefined."""
        if value is None or value is UNDEFINED:
            raise JSTypeError("Cannot read properties of %s (reading '%s')" % (to_string(value), key))
        if isinstance(value, dict):
            if key in value:
                return value[key]
        elif isinstance(value, JSArray):
            index = array_index(key)
            if index is not None and index < len(value):
                return value[index]
            if key == "length":
                return float(len(value))
            if key in value.props:
                return value.props[key]
        elif isinstance(value, str):
            units = utf16_units(value)
            index = array_index(key)
            if index is not None and index < len(units):
                return units[index]
            if key == "length":
                return float(len(units))
        elif isinstance(value, Builtin):
            if key in value.props:
                return value.props[key]
        holder = self.proto_of(value)
        while holder is not None:
            if key in holder.props:
                return holder.props[key]
            if key in holder.members:
                return self._member(holder, key, value)
            holder = holder.proto
        return UNDEFINED

    def set(self, value, key, new):
        """``value[key] = new`` in strict mode (class bodies are strict)."""
        if isinstance(value, dict):
            value[key] = new
        elif isinstance(value, (JSArray, Builtin)):
            value.props[key] = new
        elif value is None or value is UNDEFINED:
            raise JSTypeError("Cannot set properties of %s (setting '%s')" % (to_string(value), key))
        else:
            kind = "string" if isinstance(value, str) else "boolean" if value is True or value is False else "number"
            raise JSTypeError("Cannot create property '%s' on %s '%s'" % (key, kind, to_string(value)))

    def own_entries(self, value):
        """Own enumerable (key, value) pairs, in order: what Object.keys and ``...spread`` see."""
        if isinstance(value, dict):
            return [(key, value[key]) for key in js_key_order(list(value))]
        if isinstance(value, JSArray):
            return [(str(i), item) for i, item in enumerate(value)] + list(value.props.items())
        if isinstance(value, str):
            return [(str(i), unit) for i, unit in enumerate(utf16_units(value))]
        if isinstance(value, Builtin):
            return [(key, value.props[key]) for key in js_key_order(list(value.props))]
        return []

    def iterate(self, value, expression):
        """What ``for (x of value)`` walks; ``expression`` is the source text V8 names in its TypeError."""
        if isinstance(value, JSArray):
            return list(value)
        if isinstance(value, str):
            return list(value)  # code points, as the string iterator yields them
        if value is self.array_proto or value is self.string_proto:
            return []
        raise JSTypeError("%s is not iterable" % expression)


# --------------------------------------------------------------------------- JSON as JavaScript does it

_QUOTE = re.compile(r'[\x00-\x1f"\\\ud800-\udfff]')
_QUOTE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _reject_constant(name):
    raise ValueError("Unexpected token %s" % name)


def _as_js(value):
    if isinstance(value, list):
        return JSArray(_as_js(item) for item in value)
    if isinstance(value, dict):
        for key in value:
            value[key] = _as_js(value[key])
    return value


def js_json_parse(text):
    """JSON.parse: numbers are doubles, NaN/Infinity are refused. Raises ValueError or RecursionError."""
    return _as_js(json.loads(text, parse_int=float, parse_constant=_reject_constant))


def js_quote(text):
    return '"' + _QUOTE.sub(lambda m: _QUOTE_ESCAPES.get(m.group(0)) or "\\u%04x" % ord(m.group(0)), text) + '"'


def _skipped(value):
    # JSON.stringify leaves out undefined and functions (in arrays they become null).
    return value is UNDEFINED or (isinstance(value, Builtin) and value.is_function)


def js_stringify(value, indent=None):
    """JSON.stringify(value, null, indent)."""
    out = []
    _stringify(value, indent, "", out)
    return "".join(out)


def _stringify(value, indent, current, out):
    if value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, (float, int)):
        out.append(js_number_str(float(value)) if math.isfinite(value) else "null")
    elif isinstance(value, str):
        out.append(js_quote(value))
    elif isinstance(value, JSArray):
        if not value:
            out.append("[]")
            return
        inner = current + indent if indent else ""
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + ("\n" + inner if indent else ""))
            if _skipped(item):
                out.append("null")
            else:
                _stringify(item, indent, inner, out)
        out.append(("\n" + current if indent else "") + "]")
    else:
        mapping = value if isinstance(value, dict) else getattr(value, "props", {})
        entries = [(key, mapping[key]) for key in js_key_order(list(mapping)) if not _skipped(mapping[key])]
        if not entries:
            out.append("{}")
            return
        inner = current + indent if indent else ""
        out.append("{")
        for i, (key, item) in enumerate(entries):
            out.append(("," if i else "") + ("\n" + inner if indent else ""))
            out.append(js_quote(key) + (": " if indent else ":"))
            _stringify(item, indent, inner, out)
        out.append(("\n" + current if indent else "") + "}")


# --------------------------------------------------------------------------- the platform's flag service


def _console(level, message):
    # console.log / console.error
    print(message, file=sys.stdout if level == "info" else sys.stderr, flush=True)


def _error_message(exc, path):
    if isinstance(exc, OSError):
        code = errno.errorcode.get(exc.errno, "EIO")
        return "%s: %s, open '%s'" % (code, (exc.strerror or "").lower(), path)
    if isinstance(exc, RecursionError):
        return STACK_OVERFLOW
    return str(exc)


class FlagService:
    """The platform's FeatureFlagService, method for method (load, reload,
    isEnabled, getFlag, getAllFlags, getCurrentAccessMode, setFlag, save)."""

    def __init__(self, config_path, log=None):
        self.realm = Realm()
        self.config_path = config_path
        self.log = log or _console
        self.flags = {}
        self.access_modes = UNDEFINED
        self.load()

    def load(self):
        try:
            with open(self.config_path, "rb") as handle:
                data = handle.read().decode("utf-8", "replace")
            config = js_json_parse(data)
            flags = self.realm.get(config, "feature_flags")
            self.flags = flags if truthy(flags) else {}
            modes = self.realm.get(config, "access_modes")
            self.access_modes = modes if truthy(modes) else {}
            self.log("info", "Feature flags loaded successfully")
        except (OSError, ValueError, RecursionError, JSError) as exc:
            self.log("error", "Error loading feature flags: " + _error_message(exc, self.config_path))
            self.flags = {}
            self.access_modes = {}

    def reload(self):
        self.load()
        return {"success": True, "message": "Feature flags reloaded"}

    def is_enabled(self, name):
        """isEnabled: a known, truthy flag whose requires are all enabled and whose enabled is === true.

        Walks the requirements in the order the platform's recursion does;
        entering a flag that is already being evaluated is where Node recurses
        until its stack runs out.
        """
        get = self.realm.get
        frames = []  # (key, flag, remaining requirements) of the calls in progress
        active = set()
        key = name
        while True:
            if key in active:
                raise JSRangeError(STACK_OVERFLOW)
            flag = get(self.flags, key)
            if not truthy(flag):
                return False
            requires = get(flag, "requires")
            if truthy(requires) and to_number(get(requires, "length")) > 0:
                frames.append((key, flag, iter(self.realm.iterate(requires, "flag.requires"))))
                active.add(key)
            elif get(flag, "enabled") is not True:
                return False
            # The innermost call that still has a requirement to check decides what comes next.
            while frames:
                frame_key, frame_flag, remaining = frames[-1]
                required = next(remaining, _END)
                if required is not _END:
                    key = to_string(required)
                    break
                frames.pop()
                active.discard(frame_key)
                if get(frame_flag, "enabled") is not True:
                    return False
            else:
                return True

    def get_flag(self, name):
        flag = self.realm.get(self.flags, name)
        return flag if truthy(flag) else None

    def get_all_flags(self):
        return JSArray(self.flag_view(name, flag) for name, flag in self.realm.own_entries(self.flags))

    def flag_view(self, name, flag):
        """``{name, ...flag}``."""
        view = {"name": name}
        for key, value in self.realm.own_entries(flag):
            view[key] = value
        return view

    def get_current_access_mode(self):
        if self.is_enabled("PUBLIC_FULL_LAUNCH_MODE"):
            return "public_full"
        if self.is_enabled("PUBLIC_SOFT_LAUNCH_MODE"):
            return "public_soft"
        if self.is_enabled("FOUNDER_BETA_MODE"):
            return "founder_beta"
        return "none"

    def set_flag(self, name, enabled):
        get = self.realm.get
        if not truthy(get(self.flags, name)):
            raise JSError("Flag %s does not exist" % name)
        if truthy(enabled) and truthy(get(get(self.flags, name), "requires")):
            requires = get(get(self.flags, name), "requires")
            for required in self.realm.iterate(requires, "this.flags[flagName].requires"):
                if not self.is_enabled(to_string(required)):
                    raise JSError("Cannot enable %s: %s must be enabled first" % (name, to_string(required)))
        self.realm.set(get(self.flags, name), "enabled", enabled)
        self.save()
        return {"success": True, "flag": name, "enabled": enabled}

    def save(self):
        now = datetime.now(timezone.utc)
        config = {
            "version": "1.0.0",
            "updated": now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000),
            "feature_flags": self.flags,
            "access_modes": self.access_modes,
        }
        data = js_stringify(config, "  ").encode("utf-8")
        try:
            # fs.writeFileSync: truncate and write in place, mode 0666 & ~umask for a new file.
            fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as exc:
            self.log("error", "Error saving feature flags: " + _error_message(exc, self.config_path))


# --------------------------------------------------------------------------- Express 4 on Node 20

# Reason phrases of Node's http.STATUS_CODES (the same texts as the statuses package).
STATUS_TEXT = {
    100: "Continue", 200: "OK", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
    413: "Payload Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
    417: "Expectation Failed", 418: "I'm a Teapot", 421: "Misdirected Request", 422: "Unprocessable Entity",
    423: "Locked", 424: "Failed Dependency", 425: "Too Early", 426: "Upgrade Required",
    428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates", 507: "Insufficient Storage", 508: "Loop Detected",
    509: "Bandwidth Limit Exceeded", 510: "Not Extended", 511: "Network Authentication Required",
}
# Request methods Node's HTTP parser accepts (http.METHODS); any other is a bare 400.
NODE_METHODS = frozenset((
    "ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE",
    "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH",
    "PURGE", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK",
    "UNLOCK", "UNSUBSCRIBE",
))
BODY_LIMIT = 102400  # express.json()'s default limit, 100kb
BODY_KEEP = 8 * 1024 * 1024  # bytes of a request body kept; the rest is read and dropped
HEADER_LIMIT = 16384  # Node's --max-http-header-size
KEEP_ALIVE_TIMEOUT = 5  # Node's server.keepAliveTimeout, in seconds

# The platform's routes in registration order: the server's /health, then createFeatureFlagRoutes.
ROUTES = (
    ("GET", "/health", "health"),
    ("GET", "/api/feature-flags", "all_flags"),
    ("GET", "/api/feature-flags/:name", "one_flag"),
    ("GET", "/api/feature-flags/:name/enabled", "flag_enabled"),
    ("POST", "/api/feature-flags/reload", "reload"),
    ("PUT", "/api/feature-flags/:name", "set_flag"),
    ("GET", "/api/pf/jurisdiction/health", "jurisdiction_health"),
    ("GET", "/api/pf/marketplace/health", "marketplace_health"),
    ("GET", "/api/pf/ai-dealers/health", "ai_dealers_health"),
    ("GET", "/api/pf/federation/health", "federation_health"),
    ("GET", "/api/pf/creator/health", "creator_health"),
)


def _route_regex(path):
    # path-to-regexp 0.1.x with Express's defaults: case-insensitive, optional trailing slash.
    pattern = "".join("([^/]+?)" if part == ":name" else re.escape(part) for part in re.split(r"(:name)", path))
    return re.compile("^%s/?$" % pattern, re.IGNORECASE | re.ASCII)


COMPILED_ROUTES = tuple((method, _route_regex(path), handler) for method, path, handler in ROUTES)

_MEDIA_TYPE = re.compile(r" *([A-Za-z0-9][A-Za-z0-9!#$&^_-]{0,126})/([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}) *")
_MEDIA_PARAM = re.compile(
    r"; *([!#$%&'*+\-.0-9A-Z^_`a-z|~]+) *= *"
    r"(\"(?:[ !\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\x20-\x7e])*\"|[!#$%&'*+\-.0-9A-Z^_`a-z|~]+) *")
_ENCODE_URL = re.compile(r"(?:[^\x21\x23-\x3B\x3D\x3F-\x5F\x61-\x7A\x7C\x7E]+|%+(?![0-9A-Fa-f]{2}))")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NO_CACHE = re.compile(r"(?:^|,)\s*?no-cache\s*?(?:,|$)")
_CHARSETS = {"utf8": "utf-8", "utf16": None, "utf16le": "utf-16-le", "utf16be": "utf-16-be",
             "utf7": "utf-7", "utf7imap": "utf-7"}

Response = namedtuple("Response", "status reason headers body")


class HttpError(Exception):
    """An error with an HTTP status, as http-errors makes them (Express's final handler answers it)."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


def parse_media_type(value):
    """media-typer 0.3: (type/subtype lowercased, {param: value}) or None when it does not parse."""
    if not value:
        return None
    index = value.find(";")
    match = _MEDIA_TYPE.fullmatch(value if index == -1 else value[:index])
    if not match:
        return None
    params = {}
    if index != -1:
        while index < len(value):
            param = _MEDIA_PARAM.match(value, index)
            if not param:
                return None
            index = param.end()
            raw = param.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\([\x00-\x7f])", r"\1", raw[1:-1])
            params[param.group(1).lower()] = raw
    return ("%s/%s" % (match.group(1), match.group(2))).lower(), params


def js_decode_uri_component(text):
    """decodeURIComponent; raises URIError on a malformed escape or bad UTF-8."""
    out = []
    i = 0
    while i < len(text):
        if text[i] != "%":
            out.append(text[i])
            i += 1
            continue
        sequence = []
        first = _escaped_byte(text, i)
        i += 3
        extra = 0 if first < 0x80 else 1 if first & 0xE0 == 0xC0 else 2 if first & 0xF0 == 0xE0 else \
            3 if first & 0xF8 == 0xF0 else -1
        if extra < 0:
            raise URIError("URI malformed")
        sequence.append(first)
        for _ in range(extra):
            following = _escaped_byte(text, i)
            if following & 0xC0 != 0x80:
                raise URIError("URI malformed")
            sequence.append(following)
            i += 3
        try:
            out.append(bytes(sequence).decode("utf-8"))
        except UnicodeDecodeError:
            raise URIError("URI malformed") from None
    return "".join(out)


def _escaped_byte(text, i):
    chunk = text[i + 1:i + 3]
    if text[i:i + 1] != "%" or len(chunk) != 2 or not all(c in "0123456789abcdefABCDEF" for c in chunk):
        raise URIError("URI malformed")
    return int(chunk, 16)


def encode_url(text):
    """encodeurl 2.0, as Express's final handler applies it to the path it names."""
    text = _SURROGATE.sub("\ufffd", text)
    return _ENCODE_URL.sub(lambda m: urllib.parse.quote(m.group(0), safe=";,/?:@&=+$-_.!~*'()#"), text)


def escape_html(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def pathname_of(target):
    """parseurl's pathname of a request target."""
    if target.startswith("/"):
        return target.split("#", 1)[0].split("?", 1)[0]
    parts = urllib.parse.urlsplit(target)
    return parts.path or ("/" if parts.netloc else target)


def weak_etag(body):
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode("ascii")[:27]
    return 'W/"%x-%s"' % (len(body), digest)


def is_fresh(headers, etag):
    """fresh 0.5: does the request's cache validator match the response."""
    none_match = headers.get("If-None-Match")
    modified_since = headers.get("If-Modified-Since")
    if not none_match and not modified_since:
        return False
    cache_control = headers.get("Cache-Control")
    if cache_control and _NO_CACHE.search(cache_control):
        return False
    if none_match and none_match != "*":
        tokens = [token for token in re.split(r"[ ,]+", none_match) if token]
        if not any(token in (etag, "W/" + etag) or "W/" + token == etag for token in tokens):
            return False
    if modified_since:
        return False  # the flag service sends no Last-Modified
    return True


def fault_status(value):
    """A knob's status when Express could answer an error with it, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
        return value
    return None


def read_faults(path):
    """The fault knobs in force right now; a missing or broken knob file means no faults."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            faults = json.load(handle)
    except (OSError, ValueError):
        return {}
    return faults if isinstance(faults, dict) else {}


def _same_route_path(pathname, path):
    # How Express compares a mounted path: case-insensitive, one optional trailing slash.
    def normal(text):
        text = text.lower()
        return text[:-1] if text.endswith("/") and len(text) > 1 else text
    return isinstance(path, str) and normal(pathname) == normal(path)


def _overlay_health(flag, service_name):
    """The route of an overlay health endpoint other than marketplace's: one shape, one flag each."""

    def route(self, request, body, faults):
        enabled = self.service.is_enabled(flag)
        return self.json(request, 200 if enabled else 503, {
            "service": service_name, "status": "active" if enabled else "disabled", "overlay": True})
    return route


class Request:
    """One parsed request: what the Express pipeline gets."""

    def __init__(self, method, target, headers, body=b"", body_length=0, has_body=False, keep_alive=True):
        self.method = method
        self.target = target
        self.pathname = pathname_of(target)
        self.headers = headers
        self.body = body
        self.body_length = body_length
        self.has_body = has_body
        self.keep_alive = keep_alive


class Gateway:
    """The flag service behind Express, and where the fault knobs live."""

    def __init__(self, flag_store_path, faults_path=DEFAULT_FAULTS_FILE, log=None):
        self.flag_store_path = flag_store_path
        self.faults_path = faults_path
        # Node runs one handler at a time: requests never interleave inside the service.
        self.lock = threading.Lock()
        self.service = FlagService(flag_store_path, log)

    # ---- the pipeline

    def answer(self, request):
        faults = read_faults(self.faults_path)
        delay_ms = faults.get("delay_ms")
        if isinstance(delay_ms, (int, float)) and not isinstance(delay_ms, bool) and delay_ms > 0:
            time.sleep(delay_ms / 1000.0)
        with self.lock:
            return self._answer(request, faults)

    def _answer(self, request, faults):
        overrides = faults.get("status_overrides")
        if isinstance(overrides, dict):
            for path, status in overrides.items():
                if fault_status(status) and _same_route_path(request.pathname, path):
                    return self.error_page(request, fault_status(status))
        try:
            body = self.json_body(request)
        except HttpError as exc:
            return self.error_page(request, exc.status)
        layer_error = None
        allowed = []
        for method, regex, handler in COMPILED_ROUTES:
            match = regex.match(request.pathname)
            if not match:
                continue
            try:
                params = [js_decode_uri_component(group) if group else group for group in match.groups()]
            except URIError:
                layer_error = layer_error or HttpError(400)
                continue
            if method == request.method or (request.method == "HEAD" and method == "GET"):
                if layer_error:
                    continue
                try:
                    return getattr(self, "route_" + handler)(request, body, faults, *params)
                except JSError:
                    return self.error_page(request, 500)
            if request.method == "OPTIONS":
                for name in (method, "HEAD") if method == "GET" else (method,):
                    if name not in allowed:
                        allowed.append(name)
        if layer_error:
            return self.error_page(request, layer_error.status)
        if request.method == "OPTIONS" and allowed:
            text = ",".join(allowed)
            return self.send(request, 200, text.encode("utf-8"), "text/html; charset=utf-8", [("Allow", text)])
        return self.error_page(request, 404, "Cannot %s %s" % (request.method, encode_url(request.pathname)))

    def json_body(self, request):
        """express.json() (body-parser 1.20): the parsed body, or {} when there is none to parse."""
        if not request.has_body:
            return {}
        media = parse_media_type(request.headers.get("Content-Type"))
        if media is None or media[0] != "application/json":
            return {}
        charset = media[1].get("charset", "utf-8").lower()
        if not charset.startswith("utf-"):
            raise HttpError(415)
        coding = (request.headers.get("Content-Encoding") or "identity").lower()
        if coding not in ("identity", "gzip", "deflate"):
            raise HttpError(415)
        if coding == "identity" and request.body_length > BODY_LIMIT:
            raise HttpError(413)
        canonical = re.sub(r"[^0-9a-z]", "", charset)
        if canonical not in _CHARSETS:
            raise HttpError(415)
        raw = request.body
        if coding != "identity":
            try:
                raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)
            except zlib.error:
                raise HttpError(400) from None
        if len(raw) > BODY_LIMIT:
            raise HttpError(413)
        text = self._decode(raw, canonical)
        if text.startswith("\ufeff"):
            text = text[1:]
        if not text:
            return {}
        first = text.lstrip(" \t\n\r")[:1]
        if first not in ("{", "["):
            raise HttpError(400)
        try:
            return js_json_parse(text)
        except (ValueError, RecursionError):
            raise HttpError(400) from None

    @staticmethod
    def _decode(raw, canonical):
        codec = _CHARSETS[canonical]
        if codec is None:  # iconv-lite's utf-16: a BOM decides, else where the zero bytes are
            codec = "utf-16-le"
            if raw[:2] == b"\xfe\xff":
                codec = "utf-16-be"
            elif raw[:2] != b"\xff\xfe":
                window = raw[:min(len(raw) - len(raw) % 2, 64)]
                big = sum(1 for i in range(0, len(window), 2) if window[i] == 0 and window[i + 1] != 0)
                little = sum(1 for i in range(0, len(window), 2) if window[i] != 0 and window[i + 1] == 0)
                codec = "utf-16-be" if big > little else "utf-16-le"
        return raw.decode(codec, "replace")

    # ---- answers

    def send(self, request, status, body, content_type, extra=()):
        """res.send: Content-Type, Content-Length, a weak ETag, and 304 for a fresh GET/HEAD."""
        etag = weak_etag(body)
        headers = [("X-Powered-By", "Express")] + list(extra)
        if request.method in ("GET", "HEAD") and (200 <= status < 300 or status == 304) \
                and is_fresh(request.headers, etag):
            return Response(304, STATUS_TEXT[304], headers + [("ETag", etag)], b"")
        headers += [("Content-Type", content_type), ("Content-Length", str(len(body))), ("ETag", etag)]
        return Response(status, STATUS_TEXT.get(status, "unknown"), headers, body)

    def json(self, request, status, value):
        return self.send(request, status, js_stringify(value).encode("utf-8"), "application/json; charset=utf-8")

    def error_page(self, request, status, message=None):
        """finalhandler's HTML page (production: the status text, no stack)."""
        if message is None:
            message = STATUS_TEXT.get(status, "undefined")
        text = escape_html(message).replace("\n", "<br>").replace("  ", " &nbsp;")
        body = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
                "</head>\n<body>\n<pre>%s</pre>\n</body>\n</html>\n" % text).encode("utf-8")
        headers = [("X-Powered-By", "Express"), ("Content-Security-Policy", "default-src 'none'"),
                   ("X-Content-Type-Options", "nosniff"), ("Content-Type", "text/html; charset=utf-8"),
                   ("Content-Length", str(len(body)))]
        return Response(status, STATUS_TEXT.get(status, "unknown"), headers, body)

    # ---- the routes

    def route_health(self, request, body, faults):
        status = fault_status(faults.get("health_status"))
        if status:
            return self.error_page(request, status)
        return self.json(request, 200, {"status": "ok"})

    def route_all_flags(self, request, body, faults):
        service = self.service
        return self.json(request, 200, {"flags": service.get_all_flags(),
                                        "currentMode": service.get_current_access_mode()})

    def route_one_flag(self, request, body, faults, name):
        flag = self.service.get_flag(name)
        if flag is None:
            return self.json(request, 404, {"error": "Flag not found"})
        return self.json(request, 200, self.service.flag_view(name, flag))

    def route_flag_enabled(self, request, body, faults, name):
        return self.json(request, 200, {"name": name, "enabled": self.service.is_enabled(name)})

    def route_reload(self, request, body, faults):
        status = fault_status(faults.get("reload_status"))
        if status:
            return self.error_page(request, status)
        if faults.get("stale_reload") is True:
            return self.json(request, 200, {"success": True, "message": "Feature flags reloaded"})
        return self.json(request, 200, self.service.reload())

    def route_set_flag(self, request, body, faults, name):
        try:
            result = self.service.set_flag(name, self.service.realm.get(body, "enabled"))
        except JSError as exc:
            return self.json(request, 400, {"error": str(exc)})
        return self.json(request, 200, result)

    def route_marketplace_health(self, request, body, faults):
        phase2 = self.service.is_enabled("MARKETPLACE_PHASE2_ENABLED")
        phase3 = self.service.is_enabled("MARKETPLACE_PHASE3_ENABLED")
        enabled = phase2 or phase3
        return self.json(request, 200 if enabled else 503, {
            "service": "marketplace",
            "status": "active" if enabled else "disabled",
            "phase": 3.0 if phase3 else 2.0 if phase2 else 0.0,
            "overlay": True,
        })

    route_jurisdiction_health = _overlay_health("JURISDICTION_ENGINE_ENABLED", "jurisdiction_engine")
    route_ai_dealers_health = _overlay_health("AI_DEALERS_ENABLED", "ai_dealers")
    route_federation_health = _overlay_health("CASINO_FEDERATION_ENABLED", "casino_federation")
    route_creator_health = _overlay_health("CREATOR_MONETIZATION_ENABLED", "creator_monetization")


# --------------------------------------------------------------------------- the HTTP server


class _Reject(Exception):
    """A request Node's parser refuses: a bare status line, then the connection closes."""

    def __init__(self, status=400):
        super().__init__(status)
        self.status = status


class _Drop(Exception):
    """A request Node answers by closing the connection (CONNECT without a listener)."""


class GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = KEEP_ALIVE_TIMEOUT  # an idle kept-alive connection closes, as Node's does

    def handle_one_request(self):
        self.close_connection = True
        try:
            request = self._read_request()
        except _Reject as exc:
            self._write_raw("HTTP/1.1 %d %s\r\nConnection: close\r\n\r\n" % (exc.status, STATUS_TEXT[exc.status]))
            return
        except (_Drop, OSError):
            return
        if request is None:
            return
        response = self.server.gateway.answer(request)
        lines = ["HTTP/1.1 %d %s" % (response.status, response.reason)]
        lines += ["%s: %s" % header for header in response.headers]
        lines.append("Date: " + email.utils.formatdate(usegmt=True))
        lines += ["Connection: keep-alive", "Keep-Alive: timeout=%d" % KEEP_ALIVE_TIMEOUT] \
            if request.keep_alive else ["Connection: close"]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head if request.method == "HEAD" else head + response.body)
            self.wfile.flush()
        except OSError:
            return
        self.close_connection = not request.keep_alive

    def _write_raw(self, text):
        try:
            self.wfile.write(text.encode("latin-1"))
            self.wfile.flush()
        except OSError:
            pass

    def _read_request(self):
        line = self.rfile.readline(65537)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(65537)
        if not line:
            return None
        if len(line) > HEADER_LIMIT:
            raise _Reject(431)
        words = line.rstrip(b"\r\n").split(b" ")
        words = [word for word in words if word]
        if len(words) not in (2, 3):
            raise _Reject()
        method = words[0].decode("latin-1")
        if method not in NODE_METHODS:
            raise _Reject()
        if method == "CONNECT":
            raise _Drop()
        if not re.fullmatch(rb"[\x21-\x7e]+", words[1]):
            raise _Reject()
        version = re.fullmatch(rb"HTTP/(\d)\.(\d)", words[2]) if len(words) == 3 else None
        if len(words) == 3 and not version:
            raise _Reject()
        try:
            headers = http.client.parse_headers(self.rfile)
        except (http.client.HTTPException, ValueError):
            raise _Reject(431) from None
        if len(line) + len(headers.as_string()) > HEADER_LIMIT:
            raise _Reject(431)
        http11 = version is not None and (int(version.group(1)), int(version.group(2))) >= (1, 1)
        connection = (headers.get("Connection") or "").lower()
        keep_alive = ("close" not in connection) if http11 else ("keep-alive" in connection)
        expect = headers.get("Expect")
        if expect is not None:
            if expect.lower() != "100-continue":
                raise _Reject(417)
            if http11:
                self._write_raw("HTTP/1.1 100 Continue\r\n\r\n")
        body, length, has_body = self._read_body(headers)
        return Request(method, words[1].decode("ascii"), headers, body, length, has_body, keep_alive)

    def _read_body(self, headers):
        lengths = headers.get_all("Content-Length") or []
        codings = headers.get_all("Transfer-Encoding") or []
        if lengths and codings:
            raise _Reject()
        if codings:
            if ",".join(codings).split(",")[-1].strip().lower() != "chunked":
                raise _Reject()
            return self._read_chunked()
        if not lengths:
            return b"", 0, False
        if len({value.strip() for value in lengths}) != 1 or not lengths[0].strip().isdigit():
            raise _Reject()
        length = int(lengths[0])
        return self._read_exactly(length), length, True

    def _read_exactly(self, length):
        kept = []
        size = 0
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                raise _Drop()
            length -= len(chunk)
            if size < BODY_KEEP:
                kept.append(chunk[:BODY_KEEP - size])
                size += len(kept[-1])
        return b"".join(kept)

    def _read_chunked(self):
        kept = []
        total = 0
        while True:
            line = self.rfile.readline(65537).rstrip(b"\r\n")
            size_text = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
                raise _Reject()
            size = int(size_text, 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(kept), total, True
            data = self._read_exactly(size)
            if self.rfile.read(2) != b"\r\n":
                raise _Reject()
            if total < BODY_KEEP:
                kept.append(data[:BODY_KEEP - total])
            total += size

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by http.server
        pass  # Express without a logger middleware writes no access log


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, gateway):
        super().__init__(address, GatewayHandler)
        self.gateway = gateway


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Nexus COS gateway test double (the platform's flag service)")
    parser.add_argument(
        "--flag-store",
        default=os.environ.get("NEXUS_FLAG_STORE", DEFAULT_FLAG_STORE),
        help="feature-flags.json to serve (env NEXUS_FLAG_STORE)",
    )
    parser.add_argument(
        "--faults",
        default=os.environ.get("NEXUS_GATEWAY_FAULTS", DEFAULT_FAULTS_FILE),
        help="fault knob file read at every request (env NEXUS_GATEWAY_FAULTS)",
    )
    parser.add_argument("--host", default=os.environ.get("NEXUS_GATEWAY_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("NEXUS_GATEWAY_PORT", DEFAULT_PORT)))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    gateway = Gateway(args.flag_store, args.faults)
    server = GatewayServer((args.host, args.port), gateway)
    sys.stderr.write("nexus-cos-gateway double listening on %s:%d, flag store %s\n"
                     % (args.host, server.server_address[1], args.flag_store))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
