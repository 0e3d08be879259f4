"""docs/FORMATS.md's scoring-methods section is written from the method registry
(python -m evaluator.standard.methodsdoc): these tests fail when it is stale, when a method or
one of its keys is missing from it, and when a method is registered without its description."""
from __future__ import annotations

import re

import pytest

from evaluator.standard import methods, methodsdoc
from evaluator.standard.methods import REGISTRY


def doc_section() -> str:
    got = methodsdoc.section(methodsdoc.FORMATS.read_text(encoding="utf-8"))
    assert got is not None, "docs/FORMATS.md lost the markers of the scoring-methods section"
    return got


def test_the_section_in_formats_is_what_the_registry_gives():
    assert doc_section() == methodsdoc.render(), \
        "docs/FORMATS.md is stale: run `python -m evaluator.standard.methodsdoc`"
    assert methodsdoc.main(["--check"]) == 0


def test_every_method_and_every_key_is_documented():
    rows = {m.group(1): line for line in doc_section().splitlines() if (m := re.match(r"\| `(\w+)` \|", line))}
    assert sorted(rows) == sorted(REGISTRY)
    for name, m in REGISTRY.items():
        assert m.title in rows[name]
        for key in m.schema:
            assert f"`{key}`" + (" (required)" if key in m.required else ":") in rows[name], (name, key)


def test_a_method_cannot_be_registered_without_describing_its_keys():
    with pytest.raises(TypeError, match=r"method 'x': .* missing \['limit'\]"):
        methods.method("x", "base", "测试", {"field": {"type": "string"}, "limit": {"type": "number"}},
                       doc="…", keys={"field": "a field"})
    assert "x" not in REGISTRY


def test_rewrite_replaces_a_stale_section_and_keeps_the_rest(tmp_path):
    text = methodsdoc.FORMATS.read_text(encoding="utf-8")
    stale = text.replace(doc_section(), f"{methodsdoc.BEGIN}\n| `check` | old |\n{methodsdoc.END}")
    p = tmp_path / "FORMATS.md"
    p.write_text(stale, encoding="utf-8")
    assert methodsdoc.rewrite(p) is True
    assert p.read_text(encoding="utf-8") == text
    assert methodsdoc.rewrite(p) is False
    p.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="markers of the scoring-methods section are missing"):
        methodsdoc.rewrite(p)
