"""Evaluating a stored round, and re-scoring one organization of it.

A full evaluation reads the round as stored (open_round: its pinned standards, its members,
its current submissions), scores every organization with the same code as `agrade evaluate`,
and stores for each its outcome (the compact row and its serialized result, compressed) and
its placement (tier, total, rank, lists). Re-scoring one organization starts from the stored
outcomes (no evidence but its own is read), lets quotas, ranks and lists settle
(scoring.rescore.RoundState), and records who else moved. Every evaluation is kept, with
what changed since the one before; placements are kept for every organization in a full
evaluation and for those that changed in a re-score, so any earlier state can be told.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from ..intake.evidence import resolve
from ..scoring.rescore import RoundState, row_of_state, row_state
from ..scoring.run import RoundScorer, ScoredRound, Spill, score_organizations, with_round_overrides
from ..scoring.previous import load_previous
from ..scoring.rows import Shared
from .base import Refused, Store
from .db import now
from .evidence import by_organization, current, current_digest, to_raw
from .rounds import CLOSED, OPEN, get_round, open_round, require_open
from .tables import evaluations, outcomes, placements, submissions, heads


def evidence_digest(conn, round_id: str) -> tuple[str, int]:
    """The digest of the round's current evidence (kept as it changes: evidence.current_digest)
    and how many source files it came from: a stored round's evidence_digest and evidence_files."""
    files = set()
    q = (select(submissions.c.location).join(heads, heads.c.submission == submissions.c.id)
         .where(heads.c.round == round_id))
    for (loc,) in conn.execute(q):
        files.add(json.loads(loc)["file"])
    return current_digest(conn, round_id), len(files - {"(import)"})


def current_evaluation(conn, round_id: str) -> dict:
    """The latest evaluation, refused when there is none or the evidence changed since (what
    finalizing and a bulletin stand on)."""
    ev = latest_evaluation(conn, round_id)
    if ev is None or ev["stale"]:
        raise Refused(round_id, f"轮次 {round_id} 的材料在最近一次评估后有变化（或尚未评估）："
                                f"请先运行 agrade round evaluate {round_id}")
    return ev


# A bulletin's as-of evaluation (store.publish.bulletin) is kept as an evaluation of this kind:
# it scores the round as it stood on an earlier day, so it is never the round's current
# standing (its outcomes and placements stay with the bulletin, not in outcomes/placements).
BULLETIN = "bulletin"
# what each kind of evaluation is called where people read it (status, history)
EVALUATION_KIND_ZH = {"full": "评估", "rescore": "重新评分", "appeal": "申诉复核", BULLETIN: "通报评估"}


def _standing(round_id: str):
    """The evaluations that are the round's standing: all but bulletins'."""
    return and_(evaluations.c.round == round_id, evaluations.c.kind != BULLETIN)


def standing_number(conn, round_id: str, evaluation: int) -> int:
    """The evaluation's number within its round as users count them (第 N 次评估): evaluation ids
    run across all rounds and bulletins' as-of evaluations are not the round's standing."""
    return conn.execute(select(func.count()).select_from(evaluations)
                        .where(and_(_standing(round_id), evaluations.c.id <= evaluation))).scalar_one()


def latest_evaluation(conn, round_id: str) -> dict | None:
    row = conn.execute(select(evaluations).where(_standing(round_id))
                       .order_by(evaluations.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["stale"] = current_digest(conn, round_id) != row["evidence_digest"]
    out["number"] = standing_number(conn, round_id, row["id"])
    return out


def _standards(rnd):
    return {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}


def _pack(b: bytes) -> bytes:
    return zlib.compress(b, 1)


class StoreSpill:
    """Stored results read back by organization; new ones (re-scored) in a fresh Spill.
    `source`: an open connection (results written now) or the engine (a LiveRound, which
    outlives any one connection)."""

    def __init__(self, source, round_id: str):
        self.source, self.round = source, round_id
        self.fresh = Spill()

    def get(self, where):
        if where[0] != "store":
            return self.fresh.get(where)
        q = select(outcomes.c.head, outcomes.c.tail).where(
            and_(outcomes.c.round == self.round, outcomes.c.organization == where[1]))
        if isinstance(self.source, Connection):
            row = self.source.execute(q).first()
        else:
            with self.source.connect() as conn:
                row = conn.execute(q).first()
        return zlib.decompress(row.head), zlib.decompress(row.tail)

    def add(self, head: bytes, tail: bytes):
        return self.fresh.add(head, tail)

    def close(self) -> None:
        self.fresh.close()


@dataclass
class Evaluation:
    id: int
    round: str
    kind: str
    organizations: int
    changed: dict = field(default_factory=dict)      # id -> {what: [before, after]}
    digest: str = ""
    expired: list = field(default_factory=list)      # waivers past their expiry, evaluated normally
    titles: dict = field(default_factory=dict)       # 'list:red' -> 红榜, 'designation:weak' -> 软弱涣散党组织
    number: int = 0                                  # 第 N 次评估 of its round (standing_number)


def _header(rnd, digest: str, n_files: int) -> dict:
    from ..intake.rounds import published_info
    return {"round": published_info(rnd), "evidence_digest": digest, "evidence_files": n_files}


def _placement(state: RoundState, rid: str) -> dict:
    b = state.brief(rid)
    return {"total": None if b["total"] is None else str(b["total"]), "tier": b["tier"], "rank": b["rank"]["round"],
            "lists": [f"list:{x}" for x in b["lists"]] + [f"designation:{x}" for x in b["designations"]]}


def placements_now(conn, round_id: str, orgs: list[str] | None = None) -> dict[str, dict]:
    """Each organization's placement (of `orgs`, or all) as the latest evaluation that placed it left it."""
    out = {}
    for i in range(0, len(orgs), 500) if orgs is not None else [None]:
        q = select(placements).where(placements.c.round == round_id)
        if i is not None:
            q = q.where(placements.c.organization.in_(orgs[i:i + 500]))
        for p in conn.execute(q.order_by(placements.c.evaluation)).mappings():
            out[p["organization"]] = {"total": p["total"], "tier": p["tier"], "rank": p["rank"],
                                      "lists": json.loads(p["lists"])}
    return out


def _diff(before: dict | None, after: dict) -> dict:
    if before is None:
        return {"new": [None, after]}
    return {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}


def load_state(conn, round_id: str, mat, for_writing: bool = False, spill=None) -> RoundState:
    """The stored round's outcomes as a RoundState (nothing re-scored, nothing re-read).
    for_writing: with the count of evidence files in its header (a scan: only to write results)."""
    rnd = mat.round
    standards = _standards(rnd)
    rows, shared = [], Shared()
    order = {o.id: i for i, o in enumerate(rnd.organizations)}
    for o in conn.execute(select(outcomes.c.organization, outcomes.c.state).where(outcomes.c.round == round_id)):
        rows.append(row_of_state(json.loads(o.state), ("store", o.organization)))
        shared.row(rows[-1])
    if len(rows) != len(order):
        raise Refused(round_id, f"轮次 {round_id} 尚未完整评估（{len(rows)}/{len(order)} 个组织有结果）："
                                f"请先运行 agrade round evaluate {round_id}")
    rows.sort(key=lambda r: order[r.id])
    digest, n_files = evidence_digest(conn, round_id) if for_writing else (current_digest(conn, round_id), None)
    scored = ScoredRound(rows, StoreSpill(spill or conn, round_id), standards, _header(rnd, digest, n_files))
    return RoundState(scored, RoundScorer(standards, rnd.period, rnd.waivers), rnd.lists, rnd.designations,
                      load_previous(rnd.previous))


def evaluate(store: Store, round_id: str, by: str, kind: str = "full") -> Evaluation:
    """Score every organization of the stored round from its current evidence; store outcomes,
    placements and what changed since the last evaluation."""
    with store.read() as conn:
        r = get_round(conn, round_id)
        if r["state"] not in OPEN:
            raise Refused(round_id, f"轮次 {round_id} 已定稿，结果不再重新评估（更正请走申诉复核）")
        mat = open_round(conn, round_id)
    try:
        return _evaluate(store, round_id, by, kind, mat)
    finally:
        mat.close()


def score_current(conn, round_id: str, rnd) -> ScoredRound:
    """Every organization of the stored round scored from its current evidence over
    `rnd.period` (a bulletin cuts it at its as-of date), read in `conn`'s one transaction so
    the evidence digest in the header is the digest of the evidence scored. Bad evidence is
    refused (InputError) with nothing kept."""
    from ..errors import InputError
    standards = _standards(rnd)
    by_id = {o.id: o for o in rnd.organizations}
    issues = []
    digest, n_files = evidence_digest(conn, round_id)
    stream = by_organization(conn, round_id, registry_order=True)    # streamed beside the scoring
    pending = next(stream, None)

    def resolved(oid):
        nonlocal pending
        raw = None
        if pending is not None and pending[0] == oid:
            raw = to_raw(oid, pending[1])
            pending = next(stream, None)
        ev, errs = resolve(raw, oid, standards[by_id[oid].type])
        issues.extend(errs)
        return ev
    rows, spill = score_organizations(rnd.organizations, resolved, standards, rnd.period, rnd.waivers)
    if issues:
        spill.close()
        raise InputError(issues)
    return ScoredRound(rows, spill, standards, _header(rnd, digest, n_files))


def round_state(scored: ScoredRound, rnd) -> RoundState:
    """A freshly scored stored round with its lists and designations."""
    return RoundState(scored, RoundScorer(_standards(rnd), rnd.period, rnd.waivers), rnd.lists,
                      rnd.designations, load_previous(rnd.previous))


def _evaluate(store: Store, round_id: str, by: str, kind: str, mat) -> Evaluation:
    rnd = mat.round
    with store.read() as conn:
        # one read transaction: the placements compared with are those before this evaluation
        before = placements_now(conn, round_id)
        scored = score_current(conn, round_id, rnd)
    rows, spill, digest = scored.rows, scored.spill, scored.header["evidence_digest"]
    try:
        state = round_state(scored, rnd)
        after = {r.id: _placement(state, r.id) for r in rows}
        changed = {oid: d for oid, p in after.items() if (d := _diff(before.get(oid), p))} if before else {}
        with store.change(by) as tx:
            require_open(tx, round_id, "重新评估", OPEN)
            eid = _insert_evaluation(tx, round_id, kind, by, digest, len(rows), changed, state)
            number = standing_number(tx.conn, round_id, eid)
            tx.conn.execute(delete(outcomes).where(outcomes.c.round == round_id))
            for i in range(0, len(rows), 500):
                tx.conn.execute(insert(outcomes), [_outcome(round_id, eid, r, *spill.get(r.spill)) for r in rows[i:i + 500]])
            _insert_placements(tx, round_id, eid, after)
            tx.log.append("round.evaluate", "round", round_id, before or None, after, evaluation=eid,
                          evidence_digest=digest, changed=len(changed), expired_waivers=[w["id"] for w in mat.expired])
        for st in state.states.values():
            st.close()
        state.scorer.close()
        return Evaluation(eid, round_id, kind, len(rows), changed, digest, mat.expired, _names(state), number)
    finally:
        spill.close()


def rescore(store: Store, round_id: str, org_ids: list[str], by: str, kind: str = "rescore",
            allow_closed: bool = False, tx_extra=None, amendments: dict | None = None) -> Evaluation:
    """Re-score organizations whose evidence changed, from the stored outcomes; store their
    outcomes and every placement that moved. `amendments` {org: [Submission]}: evidence not
    yet saved, scored as if it were (tx_extra saves it). `tx_extra(tx, evaluation id,
    changes, state)` runs in the same transaction: an appeal's decision, its evidence and
    the re-score it caused commit together or not at all. (A process re-scoring again and
    again keeps a LiveRound instead: loading the round is most of the cost.)"""
    live = LiveRound(store, round_id)
    try:
        return live.rescore(org_ids, by, kind, allow_closed, tx_extra, amendments)
    finally:
        live.close()


class Stale(Exception):
    """Someone else evaluated the round after this LiveRound loaded it."""


class LiveRound:
    """A stored round held in memory to re-score organization after organization in
    milliseconds (the web app's process, a batch of appeals). It knows which evaluation it
    reflects: if another process evaluated the round since, it loads the round again before
    re-scoring; if one does so while it re-scores, the write is refused and it loads and
    re-scores once more. After a failed write it loads again (memory may hold a change the
    store does not)."""

    def __init__(self, store: Store, round_id: str):
        self.store, self.round = store, round_id
        self.mat = self.state = None
        self._load()

    def _load(self) -> None:
        self.close()
        with self.store.read() as conn:
            self.mat = open_round(conn, self.round)
            self.state = load_state(conn, self.round, self.mat, spill=self.store.engine)
            self.evaluation = _latest_id(conn, self.round)
        self.state.keep_resident()

    def close(self) -> None:
        if self.state is not None:
            for st in self.state.states.values():
                st.close()
            self.state.scored.close()
            self.state.scorer.close()
            self.state.release_resident()
        if self.mat is not None:
            self.mat.close()
        self.mat = self.state = None

    def rescore(self, org_ids: list[str], by: str, kind: str = "rescore", allow_closed: bool = False,
                tx_extra=None, amendments: dict | None = None) -> Evaluation:
        for attempt in (1, 2):
            with self.store.read() as conn:
                if self.state is None or _latest_id(conn, self.round) != self.evaluation:
                    self._load()
            try:
                return self._rescore(org_ids, by, kind, allow_closed, tx_extra, amendments or {})
            except Stale:
                self.state = None
                if attempt == 2:
                    raise Refused(self.round, f"轮次 {self.round} 正被他人同时评估：请稍后再试")
            except BaseException:
                self.state = None                    # memory may hold a change the store does not
                raise

    def _rescore(self, org_ids, by, kind, allow_closed, tx_extra, amendments) -> Evaluation:
        round_id, state, rnd = self.round, self.state, self.mat.round
        by_id = {o.id: o for o in rnd.organizations}
        missing = [o for o in org_ids if o not in by_id]
        if missing:
            raise Refused(round_id, f"轮次 {round_id} 中没有组织 {missing[0]}")
        standards = _standards(rnd)
        changes, issues = [], []
        with self.store.read() as conn:
            for oid in dict.fromkeys(org_ids):
                subs = [s for _, _, s in current(conn, round_id, oid)]
                for new in amendments.get(oid, ()):          # in the field's place, as saving it will put it
                    at = next((i for i, s in enumerate(subs) if (s.field, s.source) == (new.field, new.source)), None)
                    if at is None:
                        subs.append(new)
                    else:
                        subs[at] = new
                ev, errs = resolve(to_raw(oid, subs), oid, standards[by_id[oid].type])
                issues += errs
                if not errs:
                    changes.append(state.rescore(by_id[oid], ev))
            if issues:
                from ..errors import InputError
                raise InputError(issues)
            digest = current_digest(conn, round_id)
            moved = list(dict.fromkeys(oid for c in changes for oid in [c.organization] + sorted(c.others)))
            after = {oid: _placement(state, oid) for oid in moved}
            before = placements_now(conn, round_id, moved)
        fresh = {oid: state.scored.spill.get(state.by_id[oid].spill) for oid in dict.fromkeys(org_ids)}
        # told as a full evaluation tells it: each moved organization's placement before and after
        changed = {oid: d for oid, p in after.items() if (d := _diff(before.get(oid), p))}
        allowed = OPEN + (CLOSED if allow_closed else ())
        with self.store.change(by) as tx:
            require_open(tx, round_id, "重新评分", allowed)
            if _latest_id(tx.conn, round_id) != self.evaluation:
                raise Stale()
            eid = _insert_evaluation(tx, round_id, kind, by, digest, len(fresh), changed, state)
            number = standing_number(tx.conn, round_id, eid)
            for oid, (head, tail) in fresh.items():
                tx.conn.execute(delete(outcomes).where(and_(outcomes.c.round == round_id, outcomes.c.organization == oid)))
                tx.conn.execute(insert(outcomes).values(**_outcome(round_id, eid, state.by_id[oid], head, tail)))
            _insert_placements(tx, round_id, eid, after)
            tx.log.append(f"round.{kind}", "round", round_id, None, after, evaluation=eid, organizations=list(fresh),
                          changed=sorted(changed))
            if tx_extra is not None:
                tx_extra(tx, eid, changed, state)
                # the evidence it saved is part of what this evaluation scored
                tx.conn.execute(update(evaluations).where(evaluations.c.id == eid)
                                .values(evidence_digest=current_digest(tx.conn, round_id)))
        self.evaluation = eid
        return Evaluation(eid, round_id, kind, len(fresh), changed, digest, self.mat.expired, _names(state), number)


def _insert_evaluation(tx, round_id: str, kind: str, by: str, digest: str, n: int, changed: dict, state,
                       extra: dict | None = None) -> int:
    """`extra`: what else the evaluation keeps in its summary (a bulletin: its as-of date,
    movement and every organization's placement)."""
    summary = {"summary": state.scored.summary.render(), "titles": _names(state), **(extra or {})}
    return tx.conn.execute(insert(evaluations).values(
        round=round_id, kind=kind, at=now(), actor=by, evidence_digest=digest, organizations=n,
        changed=json.dumps(changed, ensure_ascii=False),
        summary=json.dumps(summary, ensure_ascii=False, default=str))).inserted_primary_key[0]


def _outcome(round_id: str, eid: int, r, head: bytes, tail: bytes) -> dict:
    return {"round": round_id, "organization": r.id, "state": json.dumps(row_state(r), ensure_ascii=False),
            "head": _pack(head), "tail": _pack(tail), "evaluation": eid}


def _insert_placements(tx, round_id: str, eid: int, after: dict) -> None:
    if after:
        tx.conn.execute(insert(placements), [{"evaluation": eid, "organization": oid, "round": round_id,
                                              "total": p["total"], "tier": p["tier"], "rank": p["rank"],
                                              "lists": json.dumps(p["lists"], ensure_ascii=False)}
                                             for oid, p in after.items()])


def _latest_id(conn, round_id: str) -> int | None:
    return conn.execute(select(evaluations.c.id).where(_standing(round_id))
                        .order_by(evaluations.c.id.desc()).limit(1)).scalar_one_or_none()


def _names(state: RoundState) -> dict:
    """What the round's lists and designations ('list:red' -> 红榜) and tiers ('tier:A' -> A档)
    are called: placements keep ids, what a department reads are names."""
    names = dict(state.titles())
    for std in state.scored.standards.values():
        for t in std.grading.tiers:
            names.setdefault(f"tier:{t.id}", t.name)
    return names


def tier_name(titles: dict, tier: str | None) -> str:
    return "不予定档" if tier is None else titles.get(f"tier:{tier}", tier)


def titles_of(conn, round_id: str) -> dict:
    """What the round's lists, designations and tiers are called, as its last evaluation knew them."""
    row = conn.execute(select(evaluations.c.summary).where(_standing(round_id))
                       .order_by(evaluations.c.id.desc()).limit(1)).first()
    return json.loads(row.summary).get("titles", {}) if row else {}


def describe(what: dict, titles: dict) -> str:
    """One organization's change as a department reads it: 档次 D → C，总分 59.00 → 69.00，移出黑榜."""
    parts = []
    for key in sorted(what, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER)):
        a, b = what[key]
        if key == "new":
            parts.append("首次评估")
        elif key == "lists":
            a, b = set(a or []), set(b or [])
            parts += [f"{_verb(x, True)}{titles.get(x, x)}" for x in sorted(b - a)]
            parts += [f"{_verb(x, False)}{titles.get(x, x)}" for x in sorted(a - b)]
        elif key.startswith(("list:", "designation:")):
            parts.append(f"{_verb(key, bool(b))}{titles.get(key, key)}")
        else:
            a, b = (x.get("round") if isinstance(x, dict) else x for x in (a, b))
            if key == "tier":
                a, b = (tier_name(titles, x) for x in (a, b))
            parts.append(f"{_WHAT_ZH.get(key, key)} {a if a is not None else '—'} → {b if b is not None else '—'}")
    return "，".join(parts)


def _verb(key: str, on: bool) -> str:
    if key.startswith("designation:"):
        return "认定为" if on else "不再认定为"
    return "列入" if on else "移出"


_ORDER = ["new", "tier", "total", "rank", "lists"]
_WHAT_ZH = {"tier": "档次", "total": "总分", "rank": "全域排名"}


def write_results(conn, round_id: str, folder: Path) -> Path:
    """The stored round's current results as a results folder (results.json, results.csv,
    state.jsonl, run.json), exactly as `agrade evaluate` writes them."""
    from .. import __version__
    from ..scoring.results import write_result_set
    with open_round(conn, round_id) as mat:
        state = load_state(conn, round_id, mat, for_writing=True)
    try:
        scored = state.scored
        meta = {"agrade_version": __version__, "round": f"store:{round_id}", "organizations": len(scored.rows)}
        write_result_set(folder, scored.write_json, scored.write_csv, meta, state=scored.write_state)
    finally:
        for st in state.states.values():
            st.close()
        state.scored.close()
    return folder
