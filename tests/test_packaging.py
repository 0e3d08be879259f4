"""`pip install .` ships the standards, schemas and templates; the command works from any folder."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_runs_from_another_directory(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "whl")],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "whl").glob("agrade-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("evaluator/_shipped/rules/general.yaml", "evaluator/_shipped/rules/community.cases.yaml",
                    "evaluator/_shipped/schemas/standard.schema.json", "evaluator/_shipped/reports/scorecard.html.j2"):
        assert shipped in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    probe = subprocess.run([sys.executable, "-c", "import evaluator.resources as r; print(r.rules_dir())"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == str(target / "evaluator" / "_shipped" / "rules")
    r = subprocess.run([sys.executable, "-m", "evaluator", "test", "community"], cwd=elsewhere, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 failed" in r.stdout
