"""`agrade report --cluster`: documents rendered on a real Dask cluster on 127.0.0.1 (a scheduler
and worker processes, started and stopped here) are the files a local run writes, byte for byte,
also when a worker is killed mid-run; bad addresses, workers that would draw other bytes and
documents that cannot be drawn are refused with a precise message and nothing written."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli
from dask_local import cluster, local_cluster  # noqa: F401  (cluster: the fixture)

ROOT = Path(__file__).resolve().parents[1]
ROUND = ROOT / "tests" / "reports" / "fixtures" / "round"          # 8 organizations
PREVIOUS = ROOT / "tests" / "reports" / "fixtures" / "previous"


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def local(rendered) -> dict[str, bytes]:
    """Every document and export of the fixture round rendered in this process (the session's
    `rendered`, from tests/conftest.py: the same call the report tests read)."""
    return files(rendered)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A cluster for the tests that leave its workers running."""
    with local_cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running


def executed(client) -> dict[str, int]:
    """Tasks each worker has run so far."""
    return client.run(lambda dask_worker: dask_worker.state.executed_count)


def test_reports_rendered_on_the_cluster_are_the_local_reports(tmp_path, shared, local):
    address, client, _ = shared
    before = executed(client)
    code, out, err = run_cli("report", ROUND, "--out", tmp_path / "dask", "--cluster", address,
                             "--previous", PREVIOUS)
    assert code == 0, err
    got = files(tmp_path / "dask")
    assert sorted(got) == sorted(local)
    assert [name for name in local if got[name] != local[name]] == []       # PDFs included, byte for byte
    assert sum(1 for name in got if name.endswith(".pdf")) == 10
    # the 10 documents (8 scorecards, the summary, the lists) were drawn by the two workers,
    # after one task that made the round's job for them
    counts = {w: n - before[w] for w, n in executed(client).items()}
    assert sum(counts.values()) == 10 + 1 and min(counts.values()) >= 2, counts


def test_a_worker_killed_mid_render_loses_nothing(tmp_path, cluster, local):
    address, client, _ = cluster
    run = subprocess.Popen([sys.executable, "-m", "evaluator", "report", str(ROUND), "--out", str(tmp_path / "dask"),
                            "--kind", "scorecards", "--format", "pdf", "--previous", str(PREVIOUS),
                            "--cluster", address], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    pids = client.run(os.getpid)                                 # worker address -> its process
    killed = None
    deadline = time.time() + 120
    while killed is None and time.time() < deadline and run.poll() is None:
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy:                                   # a worker holds a scorecard: kill it
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed = busy[0]
        time.sleep(0.01)
    _, err = run.communicate(timeout=300)
    assert killed is not None, "no worker was ever busy"
    assert run.returncode == 0, err.decode()
    assert list(client.scheduler_info()["workers"]) != [killed]
    assert len(client.scheduler_info()["workers"]) == 1        # the run finished on the one left
    want = {name: data for name, data in local.items() if name.startswith("scorecards/") and name.endswith(".pdf")}
    assert files(tmp_path / "dask") == want


def test_a_document_that_cannot_be_drawn_stops_the_run_and_names_the_organization(tmp_path, shared):
    address, _, _ = shared
    results = json.loads((ROUND / "results.json").read_text(encoding="utf-8"))
    results["organizations"][4]["components"] = ["not", "a", "mapping"]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.json").write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    oid = results["organizations"][4]["id"]
    code, _, err = run_cli("report", bad, "--out", tmp_path / "out", "--kind", "scorecards", "--format", "pdf",
                           "--cluster", address)
    assert code == 1
    assert f"rendering the scorecard for organization {oid} failed: AttributeError" in err
    assert "no report was written" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_malformed_address_is_refused(tmp_path):
    code, _, err = run_cli("report", ROUND, "--out", tmp_path / "out", "--cluster", "127.0.0.1")
    assert code == 2
    assert "--cluster" in err and "expected a Dask scheduler address such as tcp://HOST:PORT" in err
    assert "'127.0.0.1'" in err
    assert not (tmp_path / "out").exists()


def test_workers_with_another_weasyprint_are_refused(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    # a worker whose WeasyPrint reports another version: its PDFs could differ from this machine's
    (site / "sitecustomize.py").write_text("import weasyprint\nweasyprint.__version__ = '0.0-other'\n")
    with local_cluster(tmp_path, workers=1, worker_env={"PYTHONPATH": str(site)}) as (address, client, _):
        code, _, err = run_cli("report", ROUND, "--out", tmp_path / "out", "--cluster", address)
        assert executed(client) == {a: 0 for a in executed(client)}
    assert code == 2
    import weasyprint
    assert f"would render different documents: weasyprint 0.0-other (here {weasyprint.__version__})" in err
    assert not (tmp_path / "out").exists()
