"""Issue 6, item 8: loading stays linear and fast, and oversized files are refused at once."""
import openpyxl
import pytest
from pathlib import Path

from evaluator.errors import InputError
from evaluator.intake.evidence import collect
from evaluator.intake.rounds import load_registry
from evaluator.standard.loader import load_standard
from evaluator.standard.yamlsafe import load_yaml

from helpers_intake import STANDARD, cli_refuses_alike, make_round


# Loading speed (at least 1 MB/s, linear in size) is measured by bench/bench_intake.py, not
# asserted here: a shared two-core machine makes any timed assertion flaky.


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


def test_default_limit_is_256_mb_and_refuses_before_reading(tmp_path, monkeypatch):
    monkeypatch.delenv("AGRADE_MAX_FILE_MB", raising=False)
    p = tmp_path / "big.yaml"
    with p.open("wb") as fh:                      # sparse: 257 MB without writing them
        fh.truncate(257 * 1024 * 1024)
    real_open = open

    def no_reading(file, *a, **k):
        assert Path(file) != p, "the file was opened: it should be refused by its size alone"
        return real_open(file, *a, **k)
    monkeypatch.setattr("builtins.open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    with pytest.raises(InputError) as e:
        load_yaml(p)
    assert "the file is 257.0 MB, above the limit of 256 MB per file" in e.value.issues[0].message


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
