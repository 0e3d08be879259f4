"""Issue 6, item 8: loading stays linear and fast, and oversized files are refused at once."""
import time

import openpyxl
import pytest

from evaluator.errors import InputError
from evaluator.intake.evidence import collect
from evaluator.intake.rounds import load_registry
from evaluator.standard.loader import load_standard
from evaluator.standard.yamlsafe import load_yaml

from helpers_intake import STANDARD, cli_refuses_alike, make_round


def evidence_yaml(n_bytes: int) -> str:
    """Many organizations in one file, as a district's inspection team would send them."""
    out, size, i = ["organizations:\n"], 0, 0
    while size < n_bytes:
        i += 1
        block = (f"  - organization: C{i:06d}\n    values:\n      members_full: {10 + i % 30}\n"
                 f"      centre_area: {{self: 520平方米, verified: 480, inspector: 督导组-王敏, verified_on: 2026-10-12}}\n"
                 f"      grid_party_share: 55.8%\n    records:\n"
                 f"      committee_meetings: [2026-01-10, 2026-02-10, 2026-03-10, 2026-04-10]\n"
                 f"      theme_party_days:\n        - {{date: 2026-01-05, title: 一月主题党日}}\n")
        out.append(block)
        size += len(block.encode())
    return "".join(out)


def best_of(n, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def test_one_megabyte_of_yaml_evidence_loads_at_over_1_mb_per_second(tmp_path):
    p = tmp_path / "e.yaml"
    p.write_text(evidence_yaml(1_000_000), encoding="utf-8")
    mb = p.stat().st_size / 1e6
    seconds = best_of(3, lambda: collect([p]))
    assert mb / seconds > 1.0, f"{mb / seconds:.2f} MB/s"


def test_loading_is_linear(tmp_path):
    small, large = tmp_path / "s.yaml", tmp_path / "l.yaml"
    small.write_text(evidence_yaml(250_000), encoding="utf-8")
    large.write_text(evidence_yaml(2_000_000), encoding="utf-8")
    t_small = best_of(3, lambda: load_yaml(small))
    t_large = best_of(2, lambda: load_yaml(large))
    assert t_large < 8 * t_small * 1.8, (t_small, t_large)      # 8x the bytes, well under 8x1.8 the time


@pytest.mark.parametrize("name", ["e.yaml", "e.json", "values.csv", "e.xlsx"])
def test_files_above_the_limit_are_refused_naming_it(tmp_path, monkeypatch, name):
    if name == "e.xlsx":
        wb = openpyxl.Workbook()
        wb.active.title = "values"
        wb.active.append(["organization", "field", "self", "note"])
        wb.active.append(["C1", "members_full", 5, "x" * 3000])
        content = None
        wb.save(tmp_path / name)
    else:
        content = {"e.yaml": "organization: C1\nvalues: {members_full: 5}\n# " + "x" * 3000 + "\n",
                   "e.json": '{"organization": "C1", "values": {"members_full": 5}, "records": {}}' + " " * 3000,
                   "values.csv": "organization,field,self\nC1,members_full,5\n" + "\n" * 3000}[name]
        (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.setenv("AGRADE_MAX_FILE_MB", "0.002")
    with pytest.raises(InputError) as e:
        collect([tmp_path / name])
    [issue] = e.value.issues
    assert issue.file == str(tmp_path / name)
    assert "above the limit of 0.002 MB per file" in issue.message and "AGRADE_MAX_FILE_MB" in issue.message
    monkeypatch.setenv("AGRADE_MAX_FILE_MB", "1")
    collect([tmp_path / name])


def test_default_limit_is_64_mb(tmp_path, monkeypatch):
    monkeypatch.delenv("AGRADE_MAX_FILE_MB", raising=False)
    p = tmp_path / "big.yaml"
    with p.open("wb") as fh:                      # sparse: 65 MB without writing them
        fh.truncate(65 * 1024 * 1024)
    start = time.perf_counter()
    with pytest.raises(InputError) as e:
        load_yaml(p)
    assert time.perf_counter() - start < 0.5      # refused before reading
    assert "the file is 65.0 MB, above the limit of 64 MB per file" in e.value.issues[0].message


def test_limit_applies_to_standards_and_registries(tmp_path, monkeypatch):
    (tmp_path / "intake.yaml").write_text(STANDARD, encoding="utf-8")
    (tmp_path / "orgs.csv").write_text("id,name,type\n" + "C1,甲,社区\n" * 300, encoding="utf-8")
    monkeypatch.setenv("AGRADE_MAX_FILE_MB", "0.001")
    for load, name in ((load_standard, "intake.yaml"), (load_registry, "orgs.csv")):
        with pytest.raises(InputError) as e:
            load(tmp_path / name)
        assert "above the limit of 0.001 MB" in str(e.value)


def test_bad_limit_setting_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "e.yaml"
    p.write_text("organization: C1\n", encoding="utf-8")
    for bad in ("abc", "0", "-5"):
        monkeypatch.setenv("AGRADE_MAX_FILE_MB", bad)
        with pytest.raises(InputError) as e:
            collect([p])
        assert f"AGRADE_MAX_FILE_MB={bad!r} is not a positive number of megabytes" in str(e.value)


def test_cli_refuses_an_oversized_evidence_file(tmp_path, monkeypatch):
    r = make_round(tmp_path, {"c1.yaml": "organization: C1\nvalues: {members_full: 5}\n" + "#" * 5000 + "\n"})
    monkeypatch.setenv("AGRADE_MAX_FILE_MB", "0.003")
    cli_refuses_alike(r, "c1.yaml: $: the file is 5,044 bytes, above the limit of 0.003 MB per file")
