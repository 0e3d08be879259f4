"""Issue 6, item 7: input that used to crash (or to be read wrongly) is refused at file:line:col,
and `validate` refuses exactly what `evaluate` refuses, with exit 2 and no traceback."""
import pytest

from evaluator.errors import InputError
from evaluator.intake.rounds import load_registry
from evaluator.standard.yamlsafe import load_json_text, load_yaml_text

from helpers_intake import ORGS, cli_refuses_alike, make_round, refusals

FIVE_THOUSAND = "9" * 5000


def one(loader, text):
    with pytest.raises(InputError) as e:
        loader(text, "f")
    [issue] = e.value.issues
    return issue


# ------------------------------------------------------------------ huge numbers

@pytest.mark.parametrize("text, col, words", [
    ("1E999999999", 4, "has the exponent 999999999, beyond ±100"),
    ("1e5000", 4, "has the exponent 5000, beyond ±100"),
    ("-1.5e-200", 4, "has the exponent -200"),
    (FIVE_THOUSAND, 4, "has 5000 digits, more than the 100 allowed"),
    ("0x" + "f" * 200, 4, "has 200 digits"),
])
def test_yaml_huge_numbers_refused(text, col, words):
    i = one(load_yaml_text, f"a: 1\nb: {text}\n")
    assert (i.line, i.col, i.path) == (2, col, "$.b") and words in i.message


@pytest.mark.parametrize("text, words", [("1E999999999", "exponent 999999999"), ("1e5000", "exponent 5000"),
                                         (FIVE_THOUSAND, "5000 digits"), ("-" + FIVE_THOUSAND + ".5", "5001 digits")])
def test_json_huge_numbers_refused(text, words):
    i = one(load_json_text, '{"a": 1,\n "b": [' + text + ']}')
    assert (i.line, i.col, i.path) == (2, 8, "$.b[0]") and words in i.message


def test_numbers_at_the_limits_still_load():
    doc, _ = load_yaml_text(f"a: {'9' * 100}\nb: 1e100\nc: 1e-100\n")
    assert doc["a"] == int("9" * 100)
    doc, _ = load_json_text('{"a": 1e100, "b": ' + "9" * 100 + "}")
    assert doc["b"] == int("9" * 100)


def test_implausible_evidence_numbers_refused_at_their_cell(tmp_path):
    csv_text = f"organization,field,self\nC1,centre_area,1E999999999\nC1,members_full,{FIVE_THOUSAND}\nC1,awards_city,1e16\n"
    r = make_round(tmp_path, {"values.csv": csv_text, "c2.yaml": "organization: C2\nvalues:\n  centre_area: 1e20\n"})
    problems = refusals(r)
    ev = tmp_path / "evidence"
    assert problems[0].startswith(f"{ev / 'values.csv'}:2:3: row 2.self: 党群服务中心面积（centre_area）: '1E999999999' is implausibly large")
    assert problems[1].startswith(f"{ev / 'values.csv'}:3:3: row 3.self: 正式党员人数（members_full）: '99999")
    assert problems[2].startswith(f"{ev / 'values.csv'}:4:3: row 4.self: 市级表彰次数（awards_city）: '1e16' is implausibly large")
    assert problems[3].startswith(f"{ev / 'c2.yaml'}:3:3: $.values.centre_area: 党群服务中心面积（centre_area）: "
                                  "1E+20 is implausibly large for evidence (beyond 10^15)")
    assert all("implausibly large" in p for p in problems)
    cli_refuses_alike(r, "values.csv:2:3:", "implausibly large")


def test_huge_numbers_in_evidence_files_exit_2(tmp_path):
    r = make_round(tmp_path, {"c1.yaml": f"organization: C1\nvalues:\n  members_full: {FIVE_THOUSAND}\n  centre_area: 1E999999999\n",
                              "c2.json": '{"organization": "C2", "values": {"members_full": 1e5000}}'})
    cli_refuses_alike(r, "c1.yaml:3:17: $.values.members_full: the number 99", "c1.yaml:4:16: $.values.centre_area",
                      "c2.json:1:51: $.values.members_full: the number 1e5000 has the exponent 5000")


# ------------------------------------------------------------------ surrogates and control characters

def test_json_lone_surrogate_refused():
    i = one(load_json_text, '{"organization": "C1",\n "values": {"secretary_rating": "\\ud800"}}')
    assert (i.line, i.col, i.path) == (2, 33, "$.values.secretary_rating")
    assert "unpaired surrogate" in i.message
    doc, _ = load_json_text('{"a": "\\ud840\\udc00"}')                   # a proper pair is one character
    assert doc == {"a": "\U00020000"}


def test_json_lone_surrogate_in_a_key_refused():
    i = one(load_json_text, '{"\\udc00": 1}')
    assert (i.line, i.col) == (1, 2) and "unpaired surrogate" in i.message


@pytest.mark.parametrize("escape", ["\\0", "\\x00", "\\x07", "\\u0000", "\\x85", "\\N", "\\e"])
def test_yaml_control_escapes_refused(escape):
    i = one(load_yaml_text, f'a: 1\nb: "x{escape}y"\n')
    assert (i.line, i.col, i.path) == (2, 4, "$.b") and "control character" in i.message


@pytest.mark.parametrize("escape", ["\\u0000", "\\u001f", "\\u007f", "\\u0085", "\\u009f"])
def test_json_control_escapes_refused(escape):
    i = one(load_json_text, '{"a": 1,\n "b": "x' + escape + 'y"}')
    assert (i.line, i.col, i.path) == (2, 7, "$.b") and "control character" in i.message


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f"])
def test_raw_control_characters_refused(char):
    for loader in (load_yaml_text, load_json_text):
        text = 'a: "社区' + char + '"\n' if loader is load_yaml_text else '{"a": "社区' + char + '"}'
        i = one(loader, text)
        assert (i.line, i.col) == (1, 7) if loader is load_yaml_text else (1, 9)
        assert f"#x{ord(char):04x}" in i.message and "control character" in i.message


def test_tabs_and_newlines_stay_allowed():
    assert load_yaml_text('a: "x\\ty\\nz"\nb: "\\r"\n')[0] == {"a": "x\ty\nz", "b": "\r"}
    assert load_json_text('{"a": "x\\ty\\r\\n"}')[0] == {"a": "x\ty\r\n"}


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x7f"])
def test_csv_control_characters_refused_at_their_cell(tmp_path, char):
    data = f"organization,field,self\nC1,members_full,5\nC1,centre_area,3{char}00\n".encode()
    r = make_round(tmp_path, {"values.csv": data})
    [problem] = refusals(r)
    assert problem.startswith(f"{tmp_path / 'evidence' / 'values.csv'}:3:3: row 3: the cell contains the control "
                              f"character #x{ord(char):04x}")
    cli_refuses_alike(r, "values.csv:3:3:")


def test_csv_nul_in_registry_refused(tmp_path):
    (tmp_path / "orgs.csv").write_bytes(b"id,name,type\nC1,\x00x,\xe7\xa4\xbe\xe5\x8c\xba\n")
    with pytest.raises(InputError) as e:
        load_registry(tmp_path / "orgs.csv")
    assert str(e.value.issues[0]).startswith(f"{tmp_path / 'orgs.csv'}:2:2: row 2: the cell contains the control character #x0000")


def test_yaml_evidence_with_control_escape_exits_2(tmp_path):
    r = make_round(tmp_path, {"c1.yaml": 'organization: C1\nvalues:\n  secretary_rating: "好\\0"\n'})
    cli_refuses_alike(r, "c1.yaml:3:21: $.values.secretary_rating: the text contains the control character #x0000")


# ------------------------------------------------------------------ the registry: parents

def test_unknown_parent_refused_with_did_you_mean(tmp_path):
    orgs = "id,name,type,district,street,parent\nHD-001,甲,社区,东区,一街道,\nHD-002,乙,社区,东区,一街道,HD-01\n"
    r = make_round(tmp_path, {}, orgs=orgs)
    (tmp_path / "orgs.csv").write_text(orgs, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_registry(tmp_path / "orgs.csv")
    assert [str(i) for i in e.value.issues] == [
        f"{tmp_path / 'orgs.csv'}:3:6: row 3.parent: parent 'HD-01' is not an organization id in the registry; "
        "did you mean 'HD-001'?"]
    cli_refuses_alike(r, "orgs.csv:3:6: row 3.parent: parent 'HD-01'")


def test_parent_naming_itself_or_a_circle_refused(tmp_path):
    p = tmp_path / "orgs.csv"
    p.write_text("id,name,type,parent\nA,a,社区,A\nB,b,社区,\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_registry(p)
    assert str(e.value.issues[0]).startswith(f"{p}:2:4: row 2.parent: organization 'A' names itself as its parent")
    p.write_text("id,name,type,parent\nA,a,社区,C\nB,b,社区,A\nC,c,社区,B\nD,d,社区,C\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_registry(p)
    [issue] = e.value.issues
    assert str(issue) == f"{p}:2:4: row 2.parent: parents go round in a circle: A -> C -> B -> A; " \
                         "one of them must have another parent or none"


def test_known_parents_load(tmp_path):
    p = tmp_path / "orgs.csv"
    p.write_text(ORGS, encoding="utf-8")
    assert [o.parent for o in load_registry(p)] == ["", "C1"]


# ------------------------------------------------------------------ unknown organizations: a line number

def test_evidence_for_an_unknown_organization_has_a_location(tmp_path):
    r = make_round(tmp_path, {
        "ghost.yaml": "# evidence\norganization: C9\nvalues: {members_full: 3}\n",
        "many.json": '{"organizations": [\n {"organization": "C1"},\n {"organization": "X7", "values": {}}]}',
        "values.csv": "organization,field,self\nC1,members_full,3\nC11,members_full,4\n",
    })
    ev = tmp_path / "evidence"
    assert refusals(r) == [
        f"{ev / 'values.csv'}:3:1: row 3.organization: evidence for organization 'C11', which is not in the registry; "
        "did you mean 'C1'?",
        f"{ev / 'ghost.yaml'}:2:1: $.organization: evidence for organization 'C9', which is not in the registry",
        f"{ev / 'many.json'}:3:3: $.organizations[1].organization: evidence for organization 'X7', which is not in the registry",
    ]
    cli_refuses_alike(r, "ghost.yaml:2:1:")


# ------------------------------------------------------------------ encodings

def test_gbk_csv_reports_line_and_column(tmp_path):
    data = "organization,field,self\nC1,secretary_rating,较好\n".encode("gbk")
    r = make_round(tmp_path, {"values.csv": data})
    [problem] = refusals(r)
    assert problem.startswith(f"{tmp_path / 'evidence' / 'values.csv'}:2:21: $: not valid UTF-8 (byte 0xbd")
    assert "GBK" in problem and "UTF-8" in problem
    cli_refuses_alike(r, "values.csv:2:21:")


def test_gbk_registry_reports_line_and_column(tmp_path):
    p = tmp_path / "orgs.csv"
    p.write_bytes("id,name,type\nC1,甲社区,社区\n".encode("gbk"))
    with pytest.raises(InputError) as e:
        load_registry(p)
    assert str(e.value.issues[0]).startswith(f"{p}:2:4: $: not valid UTF-8")


def test_column_counts_characters_after_valid_utf8(tmp_path):
    p = tmp_path / "values.csv"
    p.write_bytes("organization,field,self\n社区,f,".encode() + "较".encode("gbk") + b"\n")
    r = make_round(tmp_path, {"values.csv": p.read_bytes()})
    assert refusals(r)[0].startswith(f"{tmp_path / 'evidence' / 'values.csv'}:2:6: ")
