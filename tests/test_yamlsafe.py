import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from evaluator.errors import InputError
from evaluator.standard import yamlsafe
from evaluator.standard.yamlsafe import load_document, load_json, load_json_text, load_yaml, load_yaml_text


@pytest.fixture(autouse=True, params=["libyaml", "python"])
def parser(request, monkeypatch):
    """Every test runs with libyaml's C parser and with the pure-Python fallback: same values,
    same positions, same refusals."""
    if request.param == "python":
        monkeypatch.setattr(yamlsafe, "_CParser", None)
    elif yamlsafe._CParser is None:
        pytest.skip("PyYAML without libyaml")
    return request.param


def issues(text, loader=load_yaml_text, name="f.yaml"):
    with pytest.raises(InputError) as exc:
        loader(text, name)
    return exc.value.issues


def one(text, **kw):
    found = issues(text, **kw)
    assert len(found) == 1, found
    return found[0]


# --- scalars ----------------------------------------------------------------------

def test_yaml12_scalars():
    doc, _ = load_yaml_text(
        "a: no\nb: yes\nc: on\nd: off\ne: y\nf: n\ng: true\nh: FALSE\ni: True\n"
        "j: null\nk: ~\nl:\nm: 010\nn: 0o10\no: 0x1F\np: 1.0\nq: .5\nr: 1e3\ns: -2.50\n"
        "t: 2026-01-01\nu: 2026-01-01 09:30:00\nv: 2026-01-01T09:30:00+08:00\nw: 1:30\n"
        "x: '1.0'\ny: \"2026-01-01\"\nz: +7\n")
    assert [doc[k] for k in "abcdef"] == ["no", "yes", "on", "off", "y", "n"]
    assert doc["g"] is True and doc["h"] is False and doc["i"] is True
    assert doc["j"] is None and doc["k"] is None and doc["l"] is None
    assert (doc["m"], doc["n"], doc["o"], doc["z"]) == (10, 8, 31, 7)
    for key, text in (("p", "1.0"), ("q", ".5"), ("r", "1e3"), ("s", "-2.50")):
        assert type(doc[key]) is Decimal and doc[key] == Decimal(text)
    assert str(doc["p"]) == "1.0" and str(doc["s"]) == "-2.50"
    assert doc["t"] == dt.date(2026, 1, 1) and type(doc["t"]) is dt.date
    assert doc["u"] == dt.datetime(2026, 1, 1, 9, 30)
    assert doc["v"] == dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert doc["w"] == "1:30" and doc["x"] == "1.0" and doc["y"] == "2026-01-01"


def test_no_float_anywhere():
    doc, _ = load_yaml_text("a: [1.5, {b: 2.25}]\n")
    assert doc == {"a": [Decimal("1.5"), {"b": Decimal("2.25")}]}
    assert type(doc["a"][0]) is Decimal


def test_fullwidth_digits_stay_text():
    doc, _ = load_yaml_text("a: １２\n")
    assert doc["a"] == "１２"


def test_keys_are_text():
    doc, _ = load_yaml_text("1: a\ntrue: b\n2026-01-01: c\n1.0: d\n")
    assert doc == {"1": "a", "true": "b", "2026-01-01": "c", "1.0": "d"}


def test_explicit_standard_tags():
    doc, _ = load_yaml_text("a: !!str 12\nb: !!int '12'\nc: !!float 2\nd: ! 12\ne: !!str yes\n")
    assert doc == {"a": "12", "b": 12, "c": Decimal(2), "d": "12", "e": "yes"}
    assert one("a: !!int abc\n").message == "'abc' is not a valid !!int"


def test_empty_and_comment_only():
    assert load_yaml_text("")[0] is None
    assert load_yaml_text("# only a comment\n")[0] is None


def test_json_style_surrogate_escapes_joined():
    doc, _ = load_yaml_text('a: "\\ud840\\udc00\\u793e"\n')
    assert doc == {"a": "\U00020000社"}
    assert "surrogate" in one('a: "\\ud840"\n').message


def test_chinese_text():
    doc, loc = load_yaml_text("标题: 基层党组织\"创A\"通用标准\n等次: [好, 较好]\n")
    assert doc == {"标题": '基层党组织"创A"通用标准', "等次": ["好", "较好"]}
    assert loc.where(["等次", 1]) == (2, 9)


# --- refusals -----------------------------------------------------------------------

def test_duplicate_key_names_both_lines():
    text = "id: G1\ncriteria:\n  - id: G1.1\n    points: 4\n    title: x\n    points: 5\n"
    i = one(text)
    assert (i.file, i.line, i.col) == ("f.yaml", 6, 5)
    assert i.path == "$.criteria[0].points"
    assert i.message == "duplicate key 'points' (first defined on line 4)"
    assert str(i) == "f.yaml:6:5: $.criteria[0].points: duplicate key 'points' (first defined on line 4)"


def test_all_duplicates_reported():
    found = issues("a: 1\nb: 2\na: 3\nb: 4\n")
    assert [(i.line, i.message) for i in found] == [
        (3, "duplicate key 'a' (first defined on line 1)"),
        (4, "duplicate key 'b' (first defined on line 2)")]


def test_quoted_and_plain_duplicate():
    assert one("a: 1\n'a': 2\n").message == "duplicate key 'a' (first defined on line 1)"


BOMB = """\
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


def test_billion_laughs_refused_before_expanding():
    i = one(BOMB)            # 9^8 strings if expanded: refused at the first alias instead
    assert "aliases are not allowed" in i.message
    assert (i.line, i.col, i.path) == (1, 4, "$.a")


def test_alias_refused():
    i = one("base: x\nother:\n  - *a\n")
    assert (i.line, i.path) == (3, "$.other[0]") and "aliases are not allowed" in i.message


def test_merge_key_refused():
    i = one("a: {x: 1}\nb:\n  <<: {y: 2}\n")
    assert i.line == 3 and "merge keys" in i.message


@pytest.mark.parametrize("text,tag", [
    ("a: !!python/object/apply:os.system ['echo hi']\n", "!!python/object/apply:os.system"),
    ("a: !foo bar\n", "!foo"),
    ("a: !!binary aGk=\n", "!!binary"),
    ("a: !!set {x}\n", "!!set"),
])
def test_tags_refused(text, tag):
    i = one(text)
    assert i.message == f"tag '{tag}' is not allowed" and i.line == 1


def test_bad_date_has_line():
    i = one("period:\n  from: 2026-01-01\n  to: 2026-02-30\n")
    assert (i.line, i.col, i.path) == (3, 7, "$.period.to")
    assert i.message == "invalid date '2026-02-30': day is out of range for month"


@pytest.mark.parametrize("text", [".inf", "-.Inf", ".NaN", "+.INF"])
def test_non_finite_refused(text):
    assert one(f"a: {text}\n").message.startswith("non-finite numbers are not allowed")


def test_non_scalar_key_refused():
    assert "mapping keys must be scalars" in one("? [a, b]\n: 1\n").message


def test_multiple_documents_refused():
    i = one("a: 1\n---\nb: 2\n")
    assert i.line == 2 and i.message == "multiple documents in one file are not allowed"


def test_syntax_error_has_mark():
    i = one("a: 1\nb: [1, 2\nc: 3\n")
    assert i.line >= 2 and i.message.startswith("YAML syntax error:")


def test_tab_indent_is_syntax_error():
    i = one("a:\n\tb: 1\n")
    assert i.line == 2 and "YAML syntax error" in i.message


def test_control_character():
    i = one("a: 1\nb: x\x07\n")
    assert (i.line, i.col) == (2, 5) and "#x0007" in i.message


def test_escaped_surrogate_pair_joined_by_either_parser():
    # libyaml refuses "\ud840\udc00" outright: the pure-Python parser reads it, and is asked
    assert load_yaml_text('a: "\\ud840\\udc00"\n')[0] == {"a": "\U00020000"}


def test_both_parsers_agree_on_values_and_positions(monkeypatch):
    text = DOC + "extra:\n  - {d: 2026-03-05T10:30:00+08:00, n: 1.50, t: 'x'}\n  - \"社区\"\n  - |\n    block\n"
    doc, loc = load_yaml_text(text)
    monkeypatch.setattr(yamlsafe, "_CParser", None)
    doc2, loc2 = load_yaml_text(text)
    assert doc == doc2 and loc._pos == loc2._pos


def test_deep_nesting_refused():
    i = one("[" * 500 + "]" * 500)
    assert "nesting deeper than" in i.message


def test_non_utf8_file(tmp_path):
    p = tmp_path / "gbk.yaml"
    p.write_bytes("title: ok\nname: 社区\n".encode("gbk"))
    with pytest.raises(InputError) as exc:
        load_yaml(p)
    i = exc.value.issues[0]
    assert i.file == str(p) and (i.line, i.col) == (2, 7)
    assert "not valid UTF-8" in i.message and "byte offset 16" in i.message and "GBK" in i.message


def test_non_utf8_column_counts_characters(tmp_path):
    p = tmp_path / "mixed.yaml"
    p.write_bytes("name: 社区".encode() + "社".encode("gbk") + b"\n")
    with pytest.raises(InputError) as exc:
        load_yaml(p)
    assert (exc.value.issues[0].line, exc.value.issues[0].col) == (1, 9)


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as exc:
        load_yaml(tmp_path / "nope.yaml")
    assert "cannot read file" in exc.value.issues[0].message


def test_bom_accepted(tmp_path):
    p = tmp_path / "bom.yaml"
    p.write_bytes("\ufeffa: 1\n".encode("utf-8"))
    assert load_yaml(p)[0] == {"a": 1}


def test_load_yaml_path_and_filename(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_yaml(str(p), filename="round.yaml")
    assert exc.value.issues[0].file == "round.yaml"
    assert load_yaml(b"x: 1.0\n")[0] == {"x": Decimal("1.0")}


# --- locator --------------------------------------------------------------------------

DOC = """\
id: general
sections:
  - id: G1
    criteria:
      - id: G1.1
        points: 4
      - id: G1.2
        bands:
          - {min: 500, points: 6}
          - {min: 300, points: 4}
fields:
  area:
    type: number
"""


def test_locator_nested_paths():
    doc, loc = load_yaml_text(DOC, "std.yaml")
    assert loc.filename == "std.yaml"
    assert loc.where([]) == (1, 1)
    assert loc.where(["sections"]) == (2, 1)
    assert loc.where(["sections", 0]) == (3, 5)
    assert loc.where(["sections", 0, "criteria", 1]) == (7, 9)
    assert loc.where(["sections", 0, "criteria", 0, "points"]) == (6, 9)
    assert loc.where(["sections", 0, "criteria", 1, "bands", 1, "points"]) == (10, 24)
    assert loc.where(("fields", "area", "type")) == (13, 5)


def test_locator_missing_path_uses_ancestor():
    _, loc = load_yaml_text(DOC)
    assert loc.where(["fields", "area", "label"]) == (12, 3)
    assert loc.where(["sections", 0, "criteria", 7, "id"]) == (4, 5)
    assert loc.where(["nope"]) == (1, 1)


def test_locator_issue():
    _, loc = load_yaml_text(DOC, "std.yaml")
    i = loc.issue(["sections", 0, "criteria", 0, "points"], "bad")
    assert str(i) == "std.yaml:6:9: $.sections[0].criteria[0].points: bad"


# --- JSON --------------------------------------------------------------------------------

def test_json_values_and_locator():
    doc, loc = load_json_text('{\n  "a": 1.0,\n  "b": [1, {"c": 2e2}],\n  "d": "2026-01-01",\n  "e": [true, null]\n}')
    assert doc == {"a": Decimal("1.0"), "b": [1, {"c": Decimal("2e2")}], "d": "2026-01-01", "e": [True, None]}
    assert type(doc["a"]) is Decimal and str(doc["a"]) == "1.0"
    assert loc.where(["b", 1, "c"]) == (3, 13)
    assert loc.where(["e"]) == (5, 3)


def test_json_duplicate_keys():
    i = one('{\n  "organization": "A",\n  "values": {"x": 1,\n    "x": 2}\n}', loader=load_json_text, name="e.json")
    assert (i.file, i.line, i.col, i.path) == ("e.json", 4, 5, "$.values.x")
    assert i.message == "duplicate key 'x' (first defined on line 3)"


def test_json_syntax_error():
    i = one('{"a": 1,\n "b": }', loader=load_json_text)
    assert (i.line, i.col) == (2, 7) and i.message.startswith("JSON syntax error:")


def test_json_tabs_and_escapes():
    doc, _ = load_json_text('{\n\t"a":\t"\\u793e\\/x"}')
    assert doc == {"a": "社/x"}


def test_json_non_finite():
    found = issues('{"a": [NaN, -Infinity]}', loader=load_json_text)
    assert [i.path for i in found] == ["$.a[0]", "$.a[1]"]
    assert all(i.message.startswith("non-finite numbers are not allowed") for i in found)


def test_load_document_by_suffix(tmp_path):
    (tmp_path / "a.yml").write_text("x: 1.5\n", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"x": 1.5}', encoding="utf-8")
    (tmp_path / "c.txt").write_text("x", encoding="utf-8")
    assert load_document(tmp_path / "a.yml")[0] == load_document(tmp_path / "b.json")[0] == {"x": Decimal("1.5")}
    with pytest.raises(InputError):
        load_document(tmp_path / "c.txt")
    (tmp_path / "d.json").write_bytes(b'{"x": "\xc4\xe3"}')
    with pytest.raises(InputError):
        load_json(tmp_path / "d.json")


# --- properties ---------------------------------------------------------------------------

@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_decimal_roundtrip(d):
    text = format(d, "f")
    if "." not in text:
        text += ".0"
    value = load_yaml_text(f"v: {text}\n")[0]["v"]
    assert type(value) is Decimal and value == d


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30))
def test_quoted_text_roundtrip(s):
    import json
    assert load_yaml_text(f"v: {json.dumps(s)}\n")[0]["v"] == s
