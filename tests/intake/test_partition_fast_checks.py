"""The bulk CSV reader's fast checks against their references, with hypothesis:
partition.first_line says what str.splitlines and str.strip say (kept in the function for texts
with other line breaks) about blank lines, on any text without control characters;
partition.has_control says what yamlsafe.find_control says; decode_text drops a BOM as before."""
from hypothesis import given, settings, strategies as st

from evaluator.intake.partition import first_line, has_control
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
