"""The store under real processes: two writers, kill -9, eight at once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from evaluator.store import rounds, scoring
from evaluator.store.base import Store
from evaluator.store.tables import heads, members, submissions

from .helpers_store import demo_round, evaluate_folder, mini_round, scored  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, *args, env=None) -> subprocess.Popen:
    # stdin: a pipe the test may write to (a process told to wait at a point reads it)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


WRITER = """
    import sys, time, pathlib
    from evaluator.store.base import Store, Conflict
    from evaluator.store.submit import submit
    url, go, value = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    store = Store(url)                      # connected (it migrates): only the go signal is left
    print("waiting", flush=True)
    while not go.exists():
        time.sleep(0.01)
    try:
        v = submit(store, "mini-2026", "C1", "awards", value, "self", "writer-" + value, expect=1)
        print("saved", v)
    except Conflict as e:
        print("conflict", e.current)
"""


def test_two_writers_one_conflict_no_lost_update(db_url, mini_round, tmp_path):
    store = Store(db_url)
    rounds.import_round(store, mini_round, "区委组织部")
    go = tmp_path / "go"
    procs = [python(WRITER, db_url, go, v) for v in ("4", "5")]
    # both are connected and waiting, however long starting took on a loaded machine
    ready = [p.stdout.readline() for p in procs]
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert ready == ["waiting\n"] * 2, (ready, outs)
    assert all(p.returncode == 0 for p in procs), outs
    results = sorted(o[0].split()[0] for o in outs)
    assert results == ["conflict", "saved"], outs
    with store.read() as c:
        versions = c.execute(select(submissions.c.version, submissions.c.value).where(
            submissions.c.organization == "C1", submissions.c.field == "awards").order_by(submissions.c.version)).all()
    assert [v.version for v in versions] == [1, 2]          # the winner's version; nothing overwritten


# A process given a statement's beginning (its last argument; "-": none) announces it once it
# has run it in its transaction and waits there (reading stdin) until the test kills it: the
# kill lands at that point however loaded the machine is. (Kills after a share of a measured
# run landed before the transaction or after its commit as the load changed between runs.)
HOLD = """
    import sys
    from sqlalchemy import event

    def hold(store, stop_at):
        @event.listens_for(store.engine, "after_cursor_execute")
        def at(conn, cursor, statement, parameters, context, executemany):
            if stop_at != "-" and statement.startswith(stop_at):
                print("at", stop_at, flush=True)
                sys.stdin.readline()               # killed here
        return store
"""


def kill_at(code: str, *args, stop_at: str) -> None:
    """Run `code` (a HOLD script) until it has run the statement `stop_at`; kill -9 it there."""
    p = python(code, *args, stop_at)
    line = p.stdout.readline()
    p.send_signal(signal.SIGKILL)           # there (or wherever it is, if it never got there)
    p.wait(timeout=60)
    assert line == f"at {stop_at}\n", (line, p.stderr.read())


IMPORTER = HOLD + """
    from evaluator.store.base import Store
    from evaluator.store.rounds import import_round
    print(import_round(hold(Store(sys.argv[1]), sys.argv[3]), sys.argv[2], "导入员"))
"""


def _complete_or_absent(store, n_orgs: int) -> str:
    with store.read() as c:
        m = c.execute(select(func.count()).select_from(members)).scalar_one()
        h = c.execute(select(func.count()).select_from(heads)).scalar_one()
        s = c.execute(select(func.count()).select_from(submissions)).scalar_one()
    if m == 0:
        assert (h, s) == (0, 0), "organizations gone but evidence left: a half state"
        return "absent"
    assert m == n_orgs and h == s > 0, f"a half state: {m} members, {h} heads, {s} submissions"
    return "complete"


@pytest.fixture(scope="module")
def big_round(tmp_path_factory) -> Path:
    """400 organizations: an import and an evaluation that write in many statements (batches)."""
    from evaluator.demo import generate
    return generate(tmp_path_factory.mktemp("big") / "round", 400, 5)


@pytest.fixture(scope="module")
def big_round_scored(big_round, tmp_path_factory) -> dict:
    """big_round evaluated from its folder: what every store run of it must equal (four tests
    compare with it; evaluated once)."""
    return evaluate_folder(big_round, tmp_path_factory.mktemp("big-folder"))


def test_kill_9_during_an_import_loses_nothing_and_a_rerun_completes(db_url, big_round, big_round_scored, tmp_path):
    store = Store(db_url)                 # the schema exists: the kills land in the import itself
    # in its transaction: the first organization written; the evidence written; the last
    # statement before COMMIT (the audit log's head moved on)
    for stop_at in ("INSERT INTO members", "INSERT INTO heads", "UPDATE audit_head"):
        kill_at(IMPORTER, db_url, big_round, stop_at=stop_at)
        assert _complete_or_absent(store, 400) == "absent", stop_at
    rounds.import_round(store, big_round, "导入员")            # the rerun completes the job
    assert _complete_or_absent(store, 400) == "complete"
    scoring.evaluate(store, "shiliqu-2026", "导入员")
    with store.read() as c:
        scoring.write_results(c, "shiliqu-2026", tmp_path / "store")
    assert scored(tmp_path / "store") == big_round_scored


WORKER = """
    import json, sys, random
    from evaluator.store.base import Store, Conflict
    from evaluator.store.rounds import import_round
    from evaluator.store.scoring import evaluate
    from evaluator.store.submit import submit
    url, round_yaml, role, k, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    store = Store(url)
    acked = []
    if role == "import":
        import_round(store, round_yaml, f"导入员{k}")
    elif role == "evaluate":
        for _ in range(3):
            try:
                evaluate(store, "shiliqu-2026", f"评估员{k}")
            except Exception as e:          # the round is not imported yet: try again
                if "no round" not in str(e):
                    raise
    else:
        import time
        orgs = [f"SL-{i:04d}" for i in range(1, 61)]
        rng = random.Random(k)
        done = 0
        while done < 12:
            org = rng.choice(orgs)
            value = str(rng.randrange(0, 9))
            try:
                v = submit(store, "shiliqu-2026", org, "activity_records_note", value, "self", f"书记{k}", None)
            except Exception as e:
                if "no round" in str(e) or "没有组织" in str(e):
                    time.sleep(0.2)
                    continue
                raise
            acked.append([org, value, v])
            done += 1
    json.dump(acked, open(out, "w"))
"""


def test_eight_processes_at_once_on_postgresql(new_db_url, demo_round, tmp_path):
    from evaluator.store.rounds import open_round
    url = new_db_url("postgresql")
    store = Store(url)
    # a field every organization type has, to submit: the first number field of the general standard
    roles = ["import", "import", "evaluate", "evaluate", "submit", "submit", "submit", "submit"]
    rounds.import_round(store, demo_round, "准备")        # the round exists; the two importers re-import it
    with store.read() as c:
        with open_round(c, "shiliqu-2026") as mat:
            common = set.intersection(*[{f for f, d in s.fields.items() if d.type == "integer" and not f.startswith("_")}
                                        for s in mat.round.standards.values()])
    field = sorted(common)[0]
    procs = [python(WORKER.replace("activity_records_note", field), url, demo_round, role, k, tmp_path / f"{k}.json")
             for k, role in enumerate(roles)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    acked = [a for k in range(8) for a in json.loads((tmp_path / f"{k}.json").read_text())]
    assert len(acked) == 48
    with store.read() as c:
        rows = c.execute(select(submissions.c.organization, submissions.c.value, submissions.c.version,
                                submissions.c.submitted_by).where(submissions.c.field == field,
                                                                   submissions.c.submitted_by.like("书记%"))).all()
    stored = [[r.organization, json.loads(r.value), r.version] for r in rows]
    for org, value, version in acked:
        if version is None:               # equal to what was current: acknowledged without a new version
            continue
        assert stored.count([org, value if not value.isdigit() else value, version]) == 1, (org, value, version)
    # every version of a field once: no two writers got the same version
    keys = [(r.organization, r.version) for r in rows]
    assert len(keys) == len(set(keys))
    # the store's totals equal a clean re-run of its exported folder
    scoring.evaluate(store, "shiliqu-2026", "核对")
    with store.read() as c:
        path = rounds.materialize(c, "shiliqu-2026", tmp_path / "exported", evidence=True)
        scoring.write_results(c, "shiliqu-2026", tmp_path / "store")
    assert scored(tmp_path / "store") == evaluate_folder(path, tmp_path / "clean")


EVALUATOR = HOLD + """
    from evaluator.store.base import Store
    from evaluator.store.scoring import evaluate
    print(evaluate(hold(Store(sys.argv[1]), sys.argv[2]), "shiliqu-2026", "评估员").id)
"""


def _one_whole_evaluation(store) -> int:
    """The id of the evaluation whose outcomes and placements the store shows, all of them."""
    from evaluator.store.tables import evaluations, outcomes, placements
    with store.read() as c:
        last = c.execute(select(func.max(evaluations.c.id))).scalar_one()
        ids = {r[0] for r in c.execute(select(outcomes.c.evaluation))}
        n_out = c.execute(select(func.count()).select_from(outcomes)).scalar_one()
        n_pl = c.execute(select(func.count()).select_from(placements).where(placements.c.evaluation == last)).scalar_one()
    assert (ids, n_out, n_pl) == ({last}, 400, 400), "one whole evaluation, never half of two"
    return last


def test_kill_9_during_an_evaluation_leaves_the_last_complete_one(db_url, big_round, big_round_scored, tmp_path):
    store = Store(db_url)
    rounds.import_round(store, big_round, "导入员")
    p = python(EVALUATOR, db_url, "-")
    assert p.wait(timeout=300) == 0, p.stderr.read()
    complete = _one_whole_evaluation(store)
    # in its write transaction: the old outcomes deleted and the first new ones written; every
    # placement written; the last statement before COMMIT (the audit log's head moved on)
    for stop_at in ("INSERT INTO outcomes", "INSERT INTO placements", "UPDATE audit_head"):
        kill_at(EVALUATOR, db_url, stop_at=stop_at)
        assert _one_whole_evaluation(store) == complete, stop_at     # nothing of the killed one
    p = python(EVALUATOR, db_url, "-")                               # the next one completes
    assert p.wait(timeout=300) == 0, p.stderr.read()
    assert _one_whole_evaluation(store) > complete
    with store.read() as c:
        scoring.write_results(c, "shiliqu-2026", tmp_path / "store")
    assert scored(tmp_path / "store") == big_round_scored


def test_results_read_while_another_evaluation_commits_are_one_evaluations(db_url, mini_round, tmp_path):
    # Results are read in many statements (outcomes, placements, the evaluation's header): an
    # evaluation committed meanwhile must not show in them, not even on PostgreSQL; and the
    # reader holds no writer off, even on a connection that wrote before (SQLite).
    from evaluator.store.submit import submit
    store = Store(db_url)
    rounds.import_round(store, mini_round, "导入员")
    scoring.evaluate(store, "mini-2026", "评估员")
    with store.read() as c:
        scoring.write_results(c, "mini-2026", tmp_path / "first")
    submit(store, "mini-2026", "C1", "awards", "9", "self", "书记", None)      # the next evaluation differs
    other = Store(db_url)                                                    # another connection
    with store.read() as c:
        c.execute(select(func.count()).select_from(submissions)).scalar_one()   # the reader has begun
        scoring.evaluate(other, "mini-2026", "评估员")                          # and the next one commits
        scoring.write_results(c, "mini-2026", tmp_path / "during")
    with store.read() as c:
        scoring.write_results(c, "mini-2026", tmp_path / "after")
    assert scored(tmp_path / "during") == scored(tmp_path / "first")
    assert scored(tmp_path / "after") != scored(tmp_path / "first")        # it did change the results
