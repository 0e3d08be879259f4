"""The bulk CSV reader's fast checks against their references, with hypothesis:
partition.first_line says what str.splitlines and str.strip say (kept in the function for texts
with other line breaks) about blank lines, on any text without control characters, and so does
first_line_utf8 on the bytes wherever plain_lines lets it; partition.has_control says what
yamlsafe.find_control says; decode_text drops a BOM as before; a bulk CSV that is not UTF-8 is
refused as decode_text refuses it, wherever in the file the bad bytes are."""
from hypothesis import example, given, settings, strategies as st

from pathlib import Path

from evaluator.errors import InputError
from evaluator.intake.evidence import read_csv_rows
from evaluator.intake.partition import Router, first_line, first_line_utf8, has_control, plain_lines
from evaluator.model import Organization
from evaluator.standard.yamlsafe import decode_text, find_control


def reference(text: str) -> str | None:
    lines = text.splitlines()
    return None if not lines or "" in map(str.strip, lines) else lines[0]


# line breaks, whitespace of several kinds, text; no control characters
ALPHABET = ["a", "中", ",", '"', " ", "\t", "\u3000", "\xa0", "\u2003", "\n", "\r", "\r\n", "\u2028", "\u2029"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=14).map("".join))
def test_first_line_is_the_reference(text):
    assert find_control(text) is None
    assert first_line(text) == reference(text)


def test_cases_by_hand():
    for text in ["", "\n", "a", "a\n", "a\n\n", "a\n \n", "a\n ", " ", "\u3000\na", "a\r\nb", "a\r\n", "a\r\rb",
                 "a\nb\n", "a\n\u3000\nb", "a\u2028b", "a\u2028\u2028"]:
        assert first_line(text) == reference(text), repr(text)


# control characters of every kind next to what is allowed (tab, line breaks) and text that
# shares a lead byte with C1 characters (U+00A0-U+00BF: 0xC2 0xA0-0xBF)
CONTROLS = ["a", "中", "\t", "\n", "\r", "\x00", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", " ", "\x7f",
            "\x80", "\x85", "\x9f", "\xa0", "\xb7", "é", "\ufeff"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(CONTROLS), max_size=10).map("".join))
def test_has_control_is_find_control(text):
    assert has_control(text.encode("utf-8"), text) == (find_control(text) is not None)


@given(st.lists(st.sampled_from(ALPHABET + ["\ufeff"]), max_size=8).map("".join), st.booleans())
def test_decode_text_drops_one_bom(text, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    assert decode_text(data, "f") == data.decode("utf-8").removeprefix("\ufeff")


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET + ["\ufeff", "\u1680", "\u205f", "“", "啊"]), max_size=14).map("".join),
       st.booleans())
def test_first_line_of_the_bytes_is_the_reference_where_plain_lines_allows(text, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    if plain_lines(data, 3 if bom else 0):
        assert first_line_utf8(data, 3 if bom else 0) == reference(text)


def test_plain_lines_by_hand():
    # the usual files, with \n or Excel's \r\n, need no decoding; a line that may be blank does
    for text, plain in [("a,b\nc,d\n", True), ("a,b\r\nc,d\r\n", True), ("a,b\nc,“d”", True), ("中,文\n", True),
                        ("a,b\n“c”,d", False),      # a line starting as U+2000-U+205F would: the text decides
                        ("a\n\nb", False), ("a\n \nb", False), ("a\n\u3000\nb", False), ("a\n\u3000b", False),
                        ("a\rb", False), ("a\r\n\r\nb", False), ("a\u2028b", False), ("a\n ", False)]:
        assert plain_lines(text.encode()) is plain, text
    assert first_line_utf8("a,b\r\nc".encode()) == "a,b" and first_line_utf8(b" \nc") is None


def plain_reference(data: bytes, start: int) -> bool:
    """plain_lines said one byte at a time: \r only in \r\n, no byte after a line feed that
    may begin a blank line, no U+2028/U+2029."""
    if data.count(b"\r") != data.count(b"\r\n"):
        return False
    if any(data[i] == 10 and data[i + 1] in b"\n\r \t\xc2\xe1\xe2\xe3" for i in range(start, len(data) - 1)):
        return False
    return "\u2028".encode() not in data and "\u2029".encode() not in data


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET + ["\ufeff", "\u1680", "\u205f", "“", "啊", "\xb7", "x\n", "\n\n"]),
                max_size=16).map("".join), st.booleans())
def test_plain_lines_is_its_reference(text, bom):
    # the fast scan (two regular expressions) against the byte-by-byte definition: a file it
    # wrongly called plain would be read from its bytes with a blank line taken for a row
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    assert plain_lines(data, 3 if bom else 0) is plain_reference(data, 3 if bom else 0)


BYTES = [b"a", b",", b"\n", b'"', "中".encode(), b"\xc2\xa0", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf",
         b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xc2", b"\xe4\xb8", b"\xff", b"\x80", b"\xf0\x9f\x98\x80"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(BYTES), max_size=10).map(b"".join), st.booleans())
@example(b"\xc2\x80", False)            # valid UTF-8, a control character: the one the first version missed
def test_a_bulk_csv_not_utf8_anywhere_is_refused_as_the_general_reader_refuses_it(tmp_path_factory, body, late):
    # the bytes are decoded only where they cannot say enough themselves: pyarrow checks the
    # rest, and where it refuses the general reader says what it says (decode_text's message
    # for bytes that are not UTF-8; for valid UTF-8 such as U+0080, the control-character one)
    rows = b"organization,field,self\n" + (b"C1,f,1\n" * 3 if late else b"") + b"C1,f," + body + b"\n"
    path = tmp_path_factory.mktemp("csv") / "values.csv"
    path.write_bytes(rows)
    router = Router([Organization("C1", "甲", "community", "东区", "")], 10)
    try:
        read_csv_rows(path, rows)
        expected = None
    except InputError as e:
        expected = e.issues
    try:
        decode_text(rows, str(path))
    except InputError as e:
        assert expected == e.issues       # not UTF-8: refused as decode_text refuses it
    try:
        router.read_csv(path, rows)
        got = None
    except InputError as e:
        got = e.issues
    assert got == expected
