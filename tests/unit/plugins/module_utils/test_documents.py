# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The collection's one reader of each format (documents): what it refuses,
naming the file and line, and what it reads."""

from __future__ import annotations

import glob
import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths

FIXTURES = repo_paths.CONFIG_FIXTURES
SHARED_PFS = os.path.join(repo_paths.PLATFORM_FIXTURES, "pfs")


def load_bytes(tmp_path, data, loader=documents.load_yaml_file, name="pf.yaml"):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(documents.DocumentError) as caught:
        loader(str(path), display=name)
    return caught.value


def test_duplicate_top_level_key_names_file_line_and_key(tmp_path):
    err = load_bytes(tmp_path, b"version: '1'\npf_id: A\nstatus: x\npf_id: B\n")
    assert str(err) == ("pf.yaml:4: duplicate key 'pf_id' (first at line 2); expected each key "
                        "once per mapping")


def test_duplicate_nested_key(tmp_path):
    err = load_bytes(tmp_path, b"marketplace:\n  enabled: false\n  trading: false\n"
                               b"  enabled: true\n")
    assert (err.line, err.file) == (4, "pf.yaml") and "'enabled'" in err.message


BILLION_LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused(tmp_path):
    err = load_bytes(tmp_path, BILLION_LAUGHS)
    assert err.line == 1 and "found anchor &a" in err.message


def test_any_alias_is_refused(tmp_path):
    err = load_bytes(tmp_path, b"a: 1\nb: *x\n")
    assert err.line == 2 and "found alias *x" in err.message


def test_binary_garbage(tmp_path):
    err = load_bytes(tmp_path, b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)))
    assert "is not valid UTF-8" in err.message and err.line == 1


def test_nul_byte(tmp_path):
    err = load_bytes(tmp_path, b"version: '1.0.0'\npf_id: \x00\n")
    assert err.line == 2 and "NUL byte at offset 24" in err.message


def test_control_character(tmp_path):
    err = load_bytes(tmp_path, b"a: 1\nb: \x07\n")
    assert err.line == 2 and "#x0007" in err.message


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# just a comment\n", b"---\n"])
def test_empty_file(tmp_path, content):
    err = load_bytes(tmp_path, content)
    assert err.message == "is empty (no YAML document); expected a mapping"


@pytest.mark.parametrize("content,found", [
    (b"- version\n- pf_id\n", "top level is a list; expected a mapping"),
    (b"just text\n", 'top level is string "just text"; expected a mapping'),
    (b"42\n", "top level is integer 42; expected a mapping"),
])
def test_top_level_not_a_mapping(tmp_path, content, found):
    assert load_bytes(tmp_path, content).message == found


def test_size_cap(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: '" + b"x" * 2048 + b"'\n")
    with pytest.raises(documents.DocumentError, match="expected at most 1024"):
        documents.load_yaml_file(str(path), limit=1024)
    assert documents.load_yaml_file(str(path))["a"] == "x" * 2048


def test_default_size_cap_refuses_before_parsing(tmp_path):
    err = load_bytes(tmp_path, b"#" * (documents.MAX_FILE_BYTES + 1))
    assert "expected at most %d" % documents.MAX_FILE_BYTES in err.message


@pytest.mark.parametrize("content", [
    b"a: " + b"[" * 400,
    b"a:\n" + b"".join(b" " * i + b"- \n" for i in range(100)),
], ids=["flow", "block"])
def test_deep_nesting_is_refused_without_recursion_error(tmp_path, content):
    assert "nesting is deeper than 64 levels" in load_bytes(tmp_path, content).message


def test_yaml_1_1_booleans_stay_strings(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("a: yes\nb: off\nc: true\nd: False\ne: 'true'\n")
    assert documents.load_yaml_file(str(path)) == {"a": "yes", "b": "off", "c": True, "d": False, "e": "true"}


@pytest.mark.parametrize("content,fragment", [
    (b"a: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    (b"a: 1\n---\nb: 2\n", "expected a single document"),
    (b"a: b: c\n", "invalid YAML: mapping values are not allowed here"),
    (b"a: 'open\n", "invalid YAML"),
    (b"? [1, 2]\n: x\n", "unhashable key"),
    (b"a: 2024-13-45\n", "month must be in 1..12"),
])
def test_other_yaml_problems(tmp_path, content, fragment):
    assert fragment in load_bytes(tmp_path, content).message


def test_missing_file_and_non_regular_file(tmp_path):
    with pytest.raises(documents.DocumentError, match="file not found"):
        documents.load_yaml_file(str(tmp_path / "nope.yaml"))
    with pytest.raises(documents.DocumentError, match="not a regular file"):
        documents.load_json_file(str(tmp_path))


# Flag store (JSON) hazards

def test_json_duplicate_key_names_line_path_and_first_line(tmp_path):
    err = load_bytes(tmp_path, b'{\n  "feature_flags": {\n    "A": {"enabled": true,\n'
                               b'          "enabled": false}\n  }\n}\n',
                     loader=documents.load_json_file, name="flags.json")
    assert str(err) == ('flags.json:4: duplicate key "enabled" in feature_flags.A (first at line 3); '
                        "expected each key once per object (JSON readers keep only the last one)")


def test_json_duplicate_top_level_flag(tmp_path):
    err = load_bytes(tmp_path, b'{"feature_flags": {"A": {}, "B": {}, "A": {}}}',
                     loader=documents.load_json_file, name="flags.json")
    assert '"A"' in err.message and err.line == 1


@pytest.mark.parametrize("content,fragment", [
    (b'{"a": NaN}', "NaN is not valid JSON"),
    (b'{"a": Infinity}', "Infinity is not valid JSON"),
    (b'\xef\xbb\xbf{"a": 1}', "byte-order mark"),
    (b'[1, 2]', "top level is a list; expected a JSON object"),
    (b'{"a": 1,}', "invalid JSON"),
    (b'', "invalid JSON: Expecting value"),
    (b'{"a": 1} {"b": 2}', "Extra data"),
    (b'{"a": "\xff"}', "is not valid UTF-8"),
    (b'{"a": \x00}', "NUL byte"),
    (b'[' * 100000, "nesting too deep"),
    (b'{"a": ' + b'9' * 5000 + b'}', "invalid JSON"),
])
def test_flag_store_hazards(tmp_path, content, fragment):
    err = load_bytes(tmp_path, content, loader=documents.load_json_file, name="flags.json")
    assert fragment in err.message


# --------------------------------------------------------------------------
# Two engines, one reader: libyaml answers only for texts the pure-Python
# reader reads, with the same data and the same ambiguous words; the pure
# reader has the last word on every refusal.
# --------------------------------------------------------------------------

PF_FILES = sorted(glob.glob(os.path.join(FIXTURES, "*", "pfs", "*.yaml"))) + \
    sorted(glob.glob(os.path.join(SHARED_PFS, "*.yaml")))

TRICKY = [
    "a: off\nb: 'off'\nc: \"on\"\nd: !!str yes\ne: offline\nf: True\n",
    "on: 1\nlist:\n  - yes\n  - [no, 'n', N]\n  - {y: Y, k: {deep: OFF}}\n",
    "when: 2025-01-01\nat: 2025-01-01T10:00:00Z\nratio: 1.0e+20\nbig: 123456789012345678901234567890\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\nplain: words\n  continue here\n",
    "# comment\n---\nx: 1 # trailing\n...\n",
    "octal: 0o17\nhex: 0x1F\nsexagesimal: 1:30\nunder: 1_000\nnull1: ~\nnull2: null\nempty:\n",
    "'quoted key': 1\n\"dq\": 2\n? simple\n: 3\n",
    "uni: caf\u00e9 \u2713\nbom: \ufeffx\n",
]


@pytest.mark.skipif(not documents._FAST, reason="libyaml (python3-yaml's C part) is not installed")
@pytest.mark.parametrize("text", [open(p, encoding="utf-8").read() for p in PF_FILES] + TRICKY,
                         ids=[os.path.basename(p) for p in PF_FILES] + ["tricky%d" % n for n in range(len(TRICKY))])
def test_libyaml_and_pure_reader_agree(text):
    fast = documents._read_libyaml(text)  # raises if it would leave the text to the pure reader
    assert fast == documents._read_pure(text)
    assert repr(fast[0]) == repr(documents._read_pure(text)[0])  # types too: 1 vs 1.0 vs True


@pytest.fixture(params=["libyaml", "pure"])
def engine(request, monkeypatch):
    if request.param == "libyaml" and not documents._FAST:
        pytest.skip("libyaml (python3-yaml's C part) is not installed")
    monkeypatch.setattr(documents, "_FAST", request.param == "libyaml")
    return request.param


@pytest.mark.parametrize("content,fragment", [
    (b"a: &x 1\nb: *x\n", "found anchor &x"),
    (b"a: " + b"[" * 100 + b"]" * 100 + b"\n", "nesting is deeper than 64 levels"),
    (b"a: 1\nb: \x07\n", "#x0007"),
    (b"launch_gates: [unclosed\n", "invalid YAML: while parsing a flow sequence, expected ',' or ']', "
                                   "but got '<stream end>'"),
    (b"a: 1\na: 2\n", "duplicate key 'a' (first at line 1)"),
    (b"a: !!bool on\n", "found !!bool on"),
    (b"a: 1\n---\nb: 2\n", "expected a single document"),
])
def test_both_engines_refuse_in_the_pure_readers_words(tmp_path, engine, content, fragment):
    assert fragment in load_bytes(tmp_path, content).message


def test_both_engines_find_the_same_ambiguous_words(engine):
    found = documents.yaml_document(TRICKY[1]).ambiguous
    assert found == [
        documents.AmbiguousBoolean(("on",), 1, "on", True),
        documents.AmbiguousBoolean(("list", 0), 3, "yes", False),
        documents.AmbiguousBoolean(("list", 1, 0), 4, "no", False),
        documents.AmbiguousBoolean(("list", 1, 2), 4, "N", False),
        documents.AmbiguousBoolean(("list", 2, "y"), 5, "y", True),
        documents.AmbiguousBoolean(("list", 2, "y"), 5, "Y", False),
        documents.AmbiguousBoolean(("list", 2, "k", "deep"), 5, "OFF", False),
    ]
