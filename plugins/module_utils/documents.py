# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The one reader of each format the launch reads: the flag store (strict
JSON) and the PF files (strict YAML), whoever reads them: the validator
(precheck 7, ``nexusctl validate``), the gates, the PF and flag store
editors, the prechecks. One reader, so no two parts of the collection can
read the same file two ways.

Runs on the managed host as well as on the controller: the standard library,
plus PyYAML (python3-yaml) for YAML. Without PyYAML, JSON still reads and a
YAML read raises DocumentError saying what to install.

Every refusal is a DocumentError naming the file (and line where there is
one) and what was expected.

Reading (both formats): a regular file of at most ``MAX_FILE_BYTES``, valid
UTF-8, no NUL byte.

JSON, as the gateway's ``JSON.parse`` reads it and stricter:

* no ``NaN``/``Infinity`` and no byte-order mark (``JSON.parse`` refuses them);
* no duplicate keys (``JSON.parse`` keeps the last one silently; an editor
  would change the first);
* an object at the top.

YAML, read as YAML 1.2 (the platform's reader):

* booleans are ``true``/``false`` only: ``yes``, ``no``, ``on``, ``off``,
  ``y`` and ``n`` are strings. YAML 1.1 readers (PyYAML's own loaders,
  yamllint's ``truthy`` rule) take most of them for booleans, so a plain one
  is recorded (``yaml_document(...).ambiguous``) for the validator to report;
* no anchors or aliases (the only cheap, certain defence against alias bombs)
  and so no merge keys;
* no duplicate keys, nesting at most ``MAX_DEPTH`` deep, one document, a
  mapping at the top.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections import namedtuple
from json.decoder import scanstring

try:
    import yaml
    HAS_YAML = True
except ImportError:  # reported when a YAML file is read; JSON still reads
    yaml = None
    HAS_YAML = False

# The one library host code needs beyond the standard library, as the
# modules (missing_required_lib), the kill switch and precheck 1 name it.
YAML_LIBRARY = "PyYAML (python3-yaml)"
YAML_INSTALL = "apt-get install python3-yaml"

# The real files are under 10 KB. The pure-Python YAML parser (needed for
# the alias and depth guards) takes about 7 s for 1 MiB, so 256 KiB bounds a
# read to a second or two on a small VPS.
MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 64

# Plain scalars YAML 1.1 reads as booleans and YAML 1.2 as strings (the
# 1.1 spec's y|Y|yes|...; any case, since some 1.1 readers ignore case).
YAML_1_1_BOOLEAN = re.compile(r"^(?:y|n|yes|no|on|off)$", re.IGNORECASE)


class DocumentError(Exception):
    """A file that cannot be read as the format it must be: ``file`` as
    shown to the reader, ``message`` (what was found; what was expected),
    ``line`` (1-based) where there is one."""

    def __init__(self, file, message, line=None):
        self.file = file
        self.message = message
        self.line = line
        super().__init__("%s: %s" % (self.where, message))

    @property
    def where(self):
        return self.file if self.line is None else "%s:%d" % (self.file, self.line)


_PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def key_path(path, key):
    """``a.b`` for a key, ``a[2]`` for an index, ``a["odd key"]`` otherwise."""
    if isinstance(key, int) and not isinstance(key, bool):
        return "%s[%d]" % (path, key)
    if isinstance(key, str) and _PLAIN_KEY_RE.match(key):
        return "%s.%s" % (path, key) if path else key
    return "%s[%s]" % (path, json.dumps(str(key)))


def dotted(keys):
    """key_path of a whole path: ('a', 0, 'b') -> a[0].b"""
    shown = ""
    for key in keys:
        shown = key_path(shown, key)
    return shown


def describe(value):
    """'a list', 'integer 42', 'string "x"': what a value is, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean %s" % ("true" if value else "false")
    if isinstance(value, int):
        return "integer %d" % value
    if isinstance(value, float):
        return "number %r" % value
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return "string %s" % json.dumps(shown)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def plain(value):
    """JSON-safe copy of a YAML document: keys become text, dates ISO text."""
    if isinstance(value, dict):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# --------------------------------------------------------------------------
# Reading a file
# --------------------------------------------------------------------------


def _line_of(text, offset):
    return text.count("\n" if isinstance(text, str) else b"\n", 0, offset) + 1


def decode_text(data, display="<string>"):
    """``data`` (bytes) as text: UTF-8 without NUL bytes."""
    nul = data.find(b"\0")
    if nul >= 0:
        raise DocumentError(display, "contains a NUL byte at offset %d; expected text "
                            "(is the file binary or corrupted?)" % nul, _line_of(data, nul))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(display, "byte 0x%02x at offset %d is not valid UTF-8; expected "
                            "UTF-8 text (is the file binary or corrupted?)"
                            % (data[exc.start], exc.start), _line_of(data, exc.start))


def read_text(path, display=None, limit=MAX_FILE_BYTES):
    """The text of a document file, refusing anything a document never is."""
    display = display or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DocumentError(display, "file not found; expected it to exist")
    except OSError as exc:
        raise DocumentError(display, "cannot be read (%s)" % (exc.strerror or exc))
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(display, "is not a regular file; expected a YAML or JSON file")
    if info.st_size > limit:
        raise DocumentError(display, "is %d bytes; expected at most %d" % (info.st_size, limit))
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise DocumentError(display, "cannot be read (%s)" % (exc.strerror or exc))
    if len(data) > limit:  # grew since stat
        raise DocumentError(display, "is over %d bytes; expected at most %d" % (limit, limit))
    return decode_text(data, display)


def _as_text(text, display):
    return decode_text(text, display) if isinstance(text, bytes) else text


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------


class _DuplicateJsonKey(ValueError):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _pairs_without_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateJsonKey(key)
        obj[key] = value
    return obj


def _reject_constant(name):
    raise ValueError("%s is not valid JSON" % name)


_JSON_DECODER = json.JSONDecoder(object_pairs_hook=_pairs_without_duplicates,
                                 parse_constant=_reject_constant)


def load_json_text(text, display="<string>"):
    """Strict JSON (see the module docstring); the top level an object."""
    text = _as_text(text, display)
    if text.startswith("\ufeff"):
        raise DocumentError(display, "starts with a byte-order mark; expected plain UTF-8 "
                            "JSON (the gateway cannot parse it)", 1)
    try:
        data = _JSON_DECODER.decode(text)
    except _DuplicateJsonKey as exc:
        raise _duplicate_json_key(text, display, exc.key)
    except json.JSONDecodeError as exc:
        raise DocumentError(display, "invalid JSON: %s (column %d); expected strict JSON"
                            % (exc.msg, exc.colno), exc.lineno)
    except RecursionError:
        raise DocumentError(display, "nesting too deep; expected a shallower document")
    except ValueError as exc:  # NaN/Infinity, integers too long to convert
        raise DocumentError(display, "invalid JSON: %s; expected strict JSON" % exc)
    if not isinstance(data, dict):
        raise DocumentError(display, "top level is %s; expected a JSON object" % describe(data))
    return data


def load_json_file(path, display=None, limit=MAX_FILE_BYTES):
    display = display or str(path)
    return load_json_text(read_text(path, display, limit), display)


def _duplicate_json_key(text, display, key):
    """The error for a duplicate key, located by a scan of the text: the
    decoder only says which key, not where."""
    try:
        json_spans(text)
    except _DuplicateAt as found:
        where = " in %s" % dotted(found.path[:-1]) if len(found.path) > 1 else ""
        return DocumentError(display, "duplicate key %s%s (first at line %d); expected each key once per "
                             "object (JSON readers keep only the last one)"
                             % (json.dumps(found.path[-1]), where, found.first_line), found.line)
    except (IndexError, ValueError, AttributeError, RecursionError):
        pass
    return DocumentError(display, "duplicate key %s; expected each key once per object (JSON readers keep "
                         "only the last one)" % json.dumps(key))


class _DuplicateAt(Exception):
    def __init__(self, path, line, first_line):
        super().__init__(dotted(path))
        self.path = path
        self.line = line
        self.first_line = first_line


_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def json_spans(text):
    """{path: (start, end)}: where each value of a JSON text is, keyed by
    its path (object keys and list indices; () is the whole document). The
    text must be JSON that load_json_text reads; an editor uses this to
    rewrite one value in place."""
    spans = {}

    def ws(i):
        return _JSON_WS.match(text, i).end()

    def value(i, path):
        i = ws(i)
        char = text[i]
        if char == "{":
            end = obj(i, path)
        elif char == "[":
            end = array(i, path)
        elif char == '"':
            end = scanstring(text, i + 1, True)[1]
        else:
            end = _JSON_SCALAR.match(text, i).end()
        spans[path] = (i, end)
        return end

    def obj(i, path):
        seen = {}
        i = ws(i + 1)
        if text[i] == "}":
            return i + 1
        while True:
            i = ws(i)
            key_at = i
            key, i = scanstring(text, i + 1, True)
            if key in seen:
                raise _DuplicateAt(path + (key,), _line_of(text, key_at), seen[key])
            seen[key] = _line_of(text, key_at)
            i = ws(i) + 1  # the colon
            i = ws(value(i, path + (key,)))
            if text[i] == "}":
                return i + 1
            i += 1  # the comma

    def array(i, path):
        i = ws(i + 1)
        if text[i] == "]":
            return i + 1
        index = 0
        while True:
            i = ws(value(i, path + (index,)))
            index += 1
            if text[i] == "]":
                return i + 1
            i += 1

    value(0, ())
    return spans


# --------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------

AmbiguousBoolean = namedtuple("AmbiguousBoolean", ["path", "line", "word", "is_key"])
AmbiguousBoolean.__doc__ = """A plain YAML 1.1 boolean word (read here as a string): ``path`` the
keys to it (a tuple), ``line`` 1-based, ``word`` as written, ``is_key``
when the word is a mapping key rather than a value."""

YamlDocument = namedtuple("YamlDocument", ["data", "ambiguous"])

_TRUE_FALSE = {"true": True, "false": False}


def _is_ambiguous(event):
    """Plain and untagged (the C parser says style '', the Python one None):
    the only form whose meaning YAML 1.1 and 1.2 disagree on."""
    return not event.style and event.tag is None and bool(YAML_1_1_BOOLEAN.match(event.value))


def _refusal(event):
    """Why the reader refuses the node ``event`` starts (an anchor or an
    alias), or None."""
    if isinstance(event, yaml.AliasEvent):
        return "found alias *%s; expected no anchors or aliases (refused: they allow alias bombs)" % event.anchor
    if getattr(event, "anchor", None):
        return "found anchor &%s; expected no anchors or aliases (refused: they allow alias bombs)" % event.anchor
    return None


def _too_deep(depth):
    return "nesting is deeper than %d levels; expected a shallower document" % MAX_DEPTH if depth > MAX_DEPTH \
        else None


if HAS_YAML:
    class _StrictConstruction(object):
        """What both readers construct alike: no merge keys, no duplicate
        keys, YAML 1.2 booleans only."""

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                first_seen = {}
                for key_node, _value in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        raise yaml.constructor.ConstructorError(
                            None, None, "found a merge key (<<); expected plain keys (YAML 1.2 has no "
                            "merge keys)", key_node.start_mark)
                    key = self.construct_object(key_node, deep=True)
                    try:
                        earlier = first_seen.get(key)
                    except TypeError:
                        raise yaml.constructor.ConstructorError(
                            None, None, "found an unhashable key; expected a plain key",
                            key_node.start_mark)
                    if earlier is not None:
                        raise yaml.constructor.ConstructorError(
                            None, None, "duplicate key %r (first at line %d); expected each "
                            "key once per mapping" % (key, earlier), key_node.start_mark)
                    first_seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_bool(self, node):
            value = self.construct_scalar(node)
            if value.lower() not in _TRUE_FALSE:
                raise yaml.constructor.ConstructorError(
                    None, None, "found !!bool %s; expected true or false (YAML 1.2 booleans)" % value,
                    node.start_mark)
            return _TRUE_FALSE[value.lower()]

    class StrictYamlLoader(_StrictConstruction, yaml.SafeLoader):
        """The reader, in pure Python: refuses anchors, aliases and deep
        nesting as it composes, and marks plain YAML 1.1 boolean words. It
        has the last word: it says what is wrong with any text it refuses."""

        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            self._depth += 1
            try:
                problem = _refusal(event) or _too_deep(self._depth)
                if problem:
                    raise yaml.composer.ComposerError(None, None, problem, event.start_mark)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def compose_scalar_node(self, anchor):
            event = self.peek_event()
            node = super().compose_scalar_node(anchor)
            if _is_ambiguous(event):
                node.yaml_1_1_boolean = True
            return node

    _LOADERS = [StrictYamlLoader]
    # The same reader on libyaml (python3-yaml ships it), four to ten times
    # faster: the PF editor reads the whole file again after every value it
    # sets, and the kill switch sets sixteen. Same resolver and constructor;
    # the pure reader's compose-time checks (anchors, aliases, depth) are
    # made on libyaml's events. Whatever libyaml refuses or finds
    # questionable goes to the pure reader, which says what is wrong; a test
    # holds the two to the same data on the platform's PF files.
    if getattr(yaml, "CSafeLoader", None) is not None:
        class _LibyamlStrictLoader(_StrictConstruction, yaml.CSafeLoader):
            pass

        _LOADERS.append(_LibyamlStrictLoader)

    for _loader in _LOADERS:
        _loader.add_constructor("tag:yaml.org,2002:bool", _loader.construct_yaml_bool)
        # YAML 1.2 booleans: drop the YAML 1.1 resolver (yes/no/on/off).
        _loader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        _loader.add_implicit_resolver(
            "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

    _NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
    _FAST = len(_LOADERS) > 1
else:
    _FAST = False


def _ambiguous_nodes(node, path=(), out=None):
    """The plain YAML 1.1 boolean words under ``node``, with their paths."""
    out = [] if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            if getattr(key_node, "yaml_1_1_boolean", False):
                out.append(AmbiguousBoolean(path + (key,), key_node.start_mark.line + 1, key, True))
            _ambiguous_nodes(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _ambiguous_nodes(item, path + (index,), out)
    elif getattr(node, "yaml_1_1_boolean", False):
        out.append(AmbiguousBoolean(path, node.start_mark.line + 1, node.value, False))
    return out


def _read_pure(text):
    """(data, ambiguous) by the pure-Python reader."""
    loader = None
    try:
        loader = StrictYamlLoader(text)  # the reader checks the characters here
        node = loader.get_single_node()
        ambiguous = _ambiguous_nodes(node) if node is not None else []
        return (loader.construct_document(node) if node is not None else None), ambiguous
    finally:
        if loader is not None:
            loader.dispose()


class _NotForLibyaml(Exception):
    """A text the libyaml reader leaves to the pure one."""


def _read_libyaml(text):
    """(data, ambiguous) by libyaml, after the checks the pure reader makes
    as it composes, made here on the event stream. Raises for anything
    questionable; yaml_document then asks the pure reader."""
    if _NON_PRINTABLE.search(text):
        raise _NotForLibyaml()
    ambiguous = []
    frames = []  # per open collection: [is_mapping, path, expecting_key, key or next index]
    for event in yaml.parse(text, Loader=_LibyamlStrictLoader):
        if isinstance(event, (yaml.CollectionEndEvent,)):
            frames.pop()
            _advance(frames, None)
            continue
        if not isinstance(event, (yaml.NodeEvent,)):
            continue  # stream and document events
        if _refusal(event) or _too_deep(len(frames) + 1):
            raise _NotForLibyaml()
        parent = frames[-1] if frames else None
        as_key = parent is not None and parent[0] and parent[2]
        path = () if parent is None else parent[1] + (("?" if as_key else parent[3]),)
        if isinstance(event, yaml.ScalarEvent):
            if as_key:
                path = parent[1] + (event.value,)
            if _is_ambiguous(event):
                ambiguous.append(AmbiguousBoolean(path, event.start_mark.line + 1, event.value, as_key))
            _advance(frames, event.value)
        else:
            frames.append([isinstance(event, yaml.MappingStartEvent), path, True, 0])
    loader = _LibyamlStrictLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), ambiguous
    finally:
        loader.dispose()


def _advance(frames, key):
    """A node ended inside the innermost open collection: next key or value,
    or next index. ``key``: the scalar's text (a mapping key's name)."""
    if not frames:
        return
    frame = frames[-1]
    if not frame[0]:
        frame[3] += 1
    elif frame[2]:
        frame[2], frame[3] = False, "?" if key is None else key
    else:
        frame[2] = True


def yaml_document(text, display="<string>"):
    """Strict YAML (see the module docstring): YamlDocument(data, ambiguous),
    ``data`` a mapping, ``ambiguous`` the plain YAML 1.1 boolean words in
    it (AmbiguousBoolean, in document order)."""
    text = _as_text(text, display)
    if not HAS_YAML:
        raise DocumentError(display, "cannot be parsed: %s is not installed on this host (%s)"
                            % (YAML_LIBRARY, YAML_INSTALL))
    try:
        if _FAST:
            try:
                data, ambiguous = _read_libyaml(text)
            except Exception:  # anything at all: the pure reader says what is wrong, in its words
                data, ambiguous = _read_pure(text)
        else:
            data, ambiguous = _read_pure(text)
    except yaml.reader.ReaderError as exc:
        raise DocumentError(display, "character #x%04x is not allowed in YAML; expected "
                            "printable text" % exc.character, _line_of(text, exc.position))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "unknown problem"
        if not isinstance(exc, (yaml.composer.ComposerError, yaml.constructor.ConstructorError)):
            problem = "invalid YAML: %s" % problem
        raise DocumentError(display, problem, mark.line + 1 if mark else None)
    except yaml.YAMLError as exc:
        raise DocumentError(display, "invalid YAML: %s" % exc)
    except RecursionError:  # belt and braces; MAX_DEPTH stops this first
        raise DocumentError(display, "nesting too deep; expected a shallower document")
    except (ValueError, OverflowError) as exc:  # 2024-13-45, 5000-digit integers
        raise DocumentError(display, "a value cannot be read: %s" % exc)
    if data is None:
        raise DocumentError(display, "is empty (no YAML document); expected a mapping")
    if not isinstance(data, dict):
        raise DocumentError(display, "top level is %s; expected a mapping" % describe(data))
    return YamlDocument(data, ambiguous)


def load_yaml_text(text, display="<string>"):
    """The mapping of a strict YAML text (see yaml_document)."""
    return yaml_document(text, display).data


def load_yaml_file(path, display=None, limit=MAX_FILE_BYTES):
    display = display or str(path)
    return load_yaml_text(read_text(path, display, limit), display)
