"""Re-scoring one organization of a scored round, in milliseconds: the API an appeal, the
store and the web app call (and `agrade rescore`).

`RoundState` holds a scored round in memory (compact rows, quotas and ranks in sorted
structures, which rules each organization fires for the lists). `rescore` scores the one
organization again, lets the quotas of its groups settle (others may move tier), moves the
changed organizations in the rank structures, fires the list rules again only where a result
changed, re-derives the lists, and reports every organization whose tier, rank or list
membership changed.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal

from ..model import Evidence, Organization
from ..terms import SCOPES
from .lists import ListState
from .placement import scope_value
from .previous import load_previous
from .rows import Row, Shared


@dataclass
class Change:
    """What re-scoring one organization changed: its own result, and everyone else's tier,
    ranks or list membership that moved with it."""
    organization: str
    before: dict
    after: dict
    others: dict[str, dict[str, tuple]] = field(default_factory=dict)   # id -> {what: (before, after)}

    @property
    def changed(self) -> list[str]:
        """Every organization whose tier, rank, list membership or designation changed, this
        one first."""
        moved = lambda b: (b["tier"], b["rank"], b["lists"], b["designations"])      # noqa: E731
        mine = [self.organization] if moved(self.before) != moved(self.after) else []
        return mine + sorted(self.others)


# what a Change calls each kind of selection (evaluator.standard.listrules.KINDS)
_KIND = {"lists": "list", "designations": "designation"}


def _brief(r: Row, states: dict[str, ListState]) -> dict:
    out = {"tier": r.tier, "total": r.total, "rank": {s: r.rank(s) for s in SCOPES}}
    for kind in _KIND:
        out[kind] = sorted(states[kind].memberships(r.id)) if kind in states else []
    return out


class RoundState:
    """A scored round (evaluator.scoring.run.ScoredRound) ready for incremental changes."""

    def __init__(self, scored, scorer, rules, designations=None, previous=None):
        """`rules` the round's lists: (None: the defaults), `designations` its designations:,
        `previous` the previous round (evaluator.scoring.previous.PreviousRound) if its
        rules read it."""
        self.scored = scored
        self.scorer = scorer
        self.by_id: dict[str, Row] = {r.id: r for r in scored.rows}
        self.index: dict[str, int] = {r.id: i for i, r in enumerate(scored.rows)}
        self.states: dict[str, ListState] = scored.list_states(rules, designations, previous)
        # the entries are made when the results are written, not on every change
        for kind, state in self.states.items():
            scored.derived[kind] = state.derive

    @property
    def lists(self) -> ListState:
        return self.states["lists"]

    def keep_resident(self) -> None:
        """For a process that keeps this round to re-score for long (a LiveRound, a batch of
        appeals): the round's objects, made once and living as long as it, moved out of the
        cyclic garbage collector's way (gc.freeze). Left in, a full pass over them could land
        on any rescore: 222 ms once at 100,000 organizations, against about 5 ms for the
        rescore. Garbage made while loading is collected first, so none of it is frozen;
        `release_resident` gives them back when the round is let go."""
        import gc
        gc.collect()
        gc.freeze()

    @staticmethod
    def release_resident() -> None:
        """The frozen objects back to the collector (a round let go may hold cycles)."""
        import gc
        gc.unfreeze()

    def rescore(self, org: Organization, evidence: Evidence) -> Change:
        scored = self.scored
        old = self.by_id[org.id]
        before = _brief(old, self.states)
        new, head, tail = self.scorer.score(org, evidence)
        new.tier_before_quota = new.tier_index
        new.spill = scored.spill.add(head, tail)
        scored.rows[self.index[org.id]] = new
        self.by_id[org.id] = new
        for state in self.states.values():
            state.by_id[org.id] = new

        # who moved tier (the quotas of its groups settle again), and the counts that follow
        was = scored.quotas.replace(old, new)
        moved_tier = set(was) | {new.id}
        scored.summary.add(old, old.tier, -1)
        for rid in set(was) - {new.id}:
            r = self.by_id[rid]
            scored.summary.add(r, r.tier, -1)          # r.tier still names its tier before
        # the lists they were on, asked before their rank keys move
        was_on = {rid: self._memberships(rid) for rid in moved_tier - {org.id}}
        where = self._positions(moved_tier, old)
        for rid in moved_tier:
            scored.ranks.update(self.by_id[rid])
        rank_changed = self._rerank(where, moved_tier)
        for s in SCOPES:                      # the new row's ranks, whether or not it moved
            setattr(new, "rank_" + s, scored.ranks.rank(new, s))

        # tier names where a tier moved (a rank alone leaves it: thousands of rows when one
        # climbs a tier), the rank order again
        touched = moved_tier | rank_changed
        for rid in moved_tier:
            r = self.by_id[rid]
            g = scored.gradings[r.standard]
            tier = g.tiers[r.tier_index] if r.tier_index is not None else None
            r.tier, r.tier_name = (tier.id, tier.name) if tier else (None, None)
        for rid in moved_tier:
            r = self.by_id[rid]
            scored.summary.add(r, r.tier, +1)
        scored.header["summary"] = scored.summary.render()
        scored.invalidate_order()

        refires = {kind: moved_tier | (rank_changed if state.reads_ranks else set())
                   for kind, state in self.states.items()}
        # and of those fired again for a new rank (asked before any kind is refreshed), and of
        # anyone who entered or left a top or bottom group without moving, from the groups' changes
        for rid in set().union(*refires.values()) - moved_tier:
            was_on[rid] = self._memberships(rid)
        flips: dict[str, dict] = {}
        for kind, state in self.states.items():
            moved_groups: dict[str, set[str]] = {s: set() for s in SCOPES}
            for rid in moved_tier | refires[kind]:
                for s in SCOPES:
                    moved_groups[s].add(scope_value(self.by_id[rid], s))
            for rid, flipped in state.refresh(refires[kind], moved_groups).items():
                flips.setdefault(rid, {})[kind] = flipped
        for rid, flipped in flips.items():
            if rid not in was_on and rid != org.id:
                was_on[rid] = self._memberships(rid, flipped)

        change = Change(org.id, before, _brief(new, self.states))
        for rid in sorted(touched - {org.id}):
            r = self.by_id[rid]
            diff = {}
            if rid in moved_tier:
                diff["tier"] = (None, r.tier)
            if rid in rank_changed:
                diff["rank"] = (None, r.ranks())
            if diff:
                change.others[rid] = diff
        for rid, was in was_on.items():
            now = self._memberships(rid)
            for item in set(was) ^ set(now):
                change.others.setdefault(rid, {})[item] = (item in was, item in now)
        return change

    def brief(self, rid: str) -> dict:
        """Where organization rid stands: tier, total, ranks, lists, designations."""
        return _brief(self.by_id[rid], self.states)

    def titles(self) -> dict[str, str]:
        """'list:red' -> '红榜', 'designation:weak' -> '软弱涣散党组织', ... (as a Change names them)."""
        return {f"{_KIND[kind]}:{lid}": rule["title"] for kind, state in self.states.items()
                for lid, rule in state.norm.items()}

    def _memberships(self, rid: str, flipped: dict | None = None) -> list[str]:
        """'list:red', 'designation:weak', ... that organization rid is on (was on, with the
        group changes `flipped` of a refresh, per kind)."""
        return [f"{_KIND[kind]}:{lid}" for kind, state in self.states.items()
                for lid in state.memberships(rid, (flipped or {}).get(kind, frozenset()))]

    # -------------------------------------------------------------- ranks, by window

    def _positions(self, ids: set[str], old: Row) -> dict[tuple[str, str], tuple[int, int]]:
        """For each rank group the moving rows are in: (lowest index, highest index) they held
        before moving, and the group's length then."""
        ranks = self.scored.ranks
        out: dict[tuple[str, str], list] = {}
        for rid in ids:
            r = old if rid == old.id else self.by_id[rid]
            k = ranks.keys.get(rid)
            for s in SCOPES:
                value = scope_value(r, s)
                lst = ranks.groups[s][value]
                span = out.setdefault((s, value), [len(lst), -1, len(lst), []])
                if k is not None:
                    j = bisect.bisect_left(lst, k)
                    span[0], span[1] = min(span[0], j), max(span[1], j)
                    span[3].append(k[:2])          # whoever shared its rank may not any more
        return {g: tuple(v) for g, v in out.items()}

    def _rerank(self, where, ids: set[str]) -> set[str]:
        """New ranks where a group's order changed (between where the moving rows were and
        where they are, widened to whole runs of equal keys; to the end if the group grew or
        shrank); the ids whose rank changed."""
        ranks = self.scored.ranks
        changed: set[str] = set()
        for (s, value), (lo, hi, n_before, old_ties) in where.items():
            lst = ranks.groups[s][value]
            for rid in ids:
                k = ranks.keys.get(rid)
                if k is not None and scope_value(self.by_id[rid], s) == value:
                    j = bisect.bisect_left(lst, k)
                    lo, hi = min(lo, j), max(hi, j)
            for tie in old_ties:                     # the run it was tied with, where it is now
                a, b = bisect.bisect_left(lst, tie), bisect.bisect_left(lst, tie + ("\U0010ffff",))
                if a < b:
                    lo, hi = min(lo, a), max(hi, b - 1)
            hi = len(lst) - 1 if len(lst) != n_before else min(hi, len(lst) - 1)
            if lo > hi:
                continue
            while lo > 0 and lst[lo - 1][:2] == lst[lo][:2]:
                lo -= 1
            while hi + 1 < len(lst) and lst[hi + 1][:2] == lst[hi][:2]:
                hi += 1
            # competition ranks of lst[lo:hi+1], (a, b, id) keys (placement._rank_key): equal
            # a and b share the first one's rank. Written out here, one pass: a tier move
            # re-ranks thousands of rows, and a generator, a k[:2] slice and a comparison of
            # tie-break tuples per row were most of the slowest rescore (rows share their
            # tie-break tuples, rows.Shared: mostly the same object, found equal by identity)
            attr, by_id = "rank_" + s, self.by_id
            pa, pb, _ = lst[lo]
            rank = bisect.bisect_left(lst, (pa, pb)) + 1
            for j in range(lo, hi + 1):
                a, b, rid = lst[j]
                if a != pa or (b is not pb and b != pb):
                    pa, pb, rank = a, b, j + 1
                r = by_id[rid]
                if getattr(r, attr) != rank:
                    setattr(r, attr, rank)
                    changed.add(rid)
        for rid in ids:                         # an organization no longer graded has no rank
            r = self.by_id[rid]
            if not r.graded and any(getattr(r, "rank_" + s) is not None for s in SCOPES):
                for s in SCOPES:
                    setattr(r, "rank_" + s, None)
                changed.add(rid)
        return changed


# ------------------------------------------------------------------ state on disk

_ROW_FIELDS = ("id", "name", "type", "district", "street", "standard", "graded", "total", "base", "bonus",
               "veto_count", "vetoes", "findings", "lost", "sort_key", "tier_before_quota", "reasons", "caps",
               "gate_failures")


def _dec(v):
    return None if v is None else str(v)


def row_state(r: Row) -> dict:
    """A scored row as JSON-able data: what scoring decided of the organization (placement,
    ranks and lists are derived again from all rows). state.jsonl and the store keep this."""
    row = {k: getattr(r, k) for k in _ROW_FIELDS}
    row.update(total=_dec(r.total), base=_dec(r.base), bonus=_dec(r.bonus), sort_key=[str(x) for x in r.sort_key],
               reasons=list(r.reasons), caps=[list(c) for c in r.caps],
               gate_failures={str(k): v for k, v in (r.gate_failures or {}).items()})
    return row


def row_of_state(d: dict, spill) -> Row:
    """The row `row_state` wrote, its result at `spill` (where the round's spill finds it)."""
    D = lambda v: None if v is None else Decimal(v)                    # noqa: E731
    return Row(id=d["id"], name=d["name"], type=d["type"], district=d["district"], street=d["street"],
               standard=d["standard"], graded=d["graded"], total=D(d["total"]), base=D(d["base"]),
               bonus=D(d["bonus"]), veto_count=d["veto_count"], vetoes=d["vetoes"], findings=d["findings"],
               lost=d["lost"], sort_key=tuple(Decimal(x) for x in d["sort_key"]),
               tier_index=d["tier_before_quota"], reasons=tuple(d["reasons"]),
               caps=tuple((c[0], c[1]) for c in d["caps"]),
               gate_failures={int(k): v for k, v in d["gate_failures"].items()} or None, spill=spill)


def waivers_state(waivers: dict) -> list[list[str]]:
    """A round's waivers ({(organization, criterion): reason}) as state.jsonl's header records
    them, sorted: what the rows were scored with, so what-if can tell rows scored under other
    waivers (an approved or withdrawn waiver changes an organization's points)."""
    return [[org, criterion, reason] for (org, criterion), reason in sorted(waivers.items())]


def waivers_changed(header: dict, waivers: dict, folder) -> list[str]:
    """The organizations whose waivers were approved, changed or withdrawn since the results in
    `folder` were written (state.jsonl's header records them): their points changed with them,
    so a rescore scores them again too. Results that do not record their waivers (written by an
    earlier agrade) are refused: what changed cannot be known."""
    from ..errors import InputError, Issue
    from .results import STATE_FILE
    if "waivers" not in header:
        raise InputError(Issue(str(folder / STATE_FILE), 1, 1, "$.header.waivers",
                               "these results do not record the waivers they were evaluated with (written by an "
                               "earlier agrade); run agrade evaluate again"))
    was = {(o, c): r for o, c, r in header["waivers"]}
    return sorted({o for (o, c) in was.keys() | waivers.keys() if was.get((o, c)) != waivers.get((o, c))})


def state_lines(scored):
    """state.jsonl, a line at a time: a header line, then one line per organization in registry
    order (its compact row and where its result is in results.json). JSON, not pickle: a file
    in a results folder may have come from anywhere."""
    import orjson
    yield orjson.dumps({"agrade_state": 1, "header": {k: scored.header[k] for k in ("round", "evidence_digest", "evidence_files", "waivers")
                                                      if k in scored.header},
                        "standards": {sid: s.digest for sid, s in scored.standards.items()}},
                       default=str) + b"\n"
    for r in scored.rows:
        row = row_state(r)
        row["at"] = scored.where(r)
        yield orjson.dumps(row) + b"\n"


class FileSpill:
    """Results already written: each organization's result read from results.json, by the
    position state.jsonl records; new results (re-scored organizations) in a fresh Spill."""

    def __init__(self, results_json, fresh):
        self._f = open(results_json, "rb")
        self.fresh = fresh

    def get(self, where):
        if where[0] != "file":
            return self.fresh.get(where)
        import os
        _, at, length, before, middle = where
        data = os.pread(self._f.fileno(), length, at)
        return data[:before] + b"}", b"{" + data[before + 1 + middle + 1:]

    def add(self, head: bytes, tail: bytes):
        return self.fresh.add(head, tail)

    def close(self) -> None:
        self._f.close()
        self.fresh.close()


def load_state(folder, rnd, standards, spill_dir=None):
    """A RoundState from a results folder written by `agrade evaluate` (checked against its
    run.json) for the round `rnd`, whose standards must be the ones it was scored with."""
    from pathlib import Path
    from .run import RoundScorer, ScoredRound, Spill
    rows, head = read_state(folder, rnd, standards)
    spill = FileSpill(Path(folder) / "results.json", Spill(spill_dir))
    scored = ScoredRound(rows, spill, standards, head["header"])
    return RoundState(scored, RoundScorer(standards, rnd.period, rnd.waivers), rnd.lists, rnd.designations,
                      load_previous(rnd.previous))


def read_state(folder, rnd, standards) -> tuple[list[Row], dict]:
    """The compact rows state.jsonl keeps (each with where its result is in results.json) and
    its header line, checked as load_state needs them (also what-if's starting point)."""
    import json
    from pathlib import Path
    from ..errors import InputError, Issue
    from .results import STATE_FILE, _recorded, check_result_set, inconsistent
    folder = Path(folder)
    check_result_set(folder)
    if STATE_FILE not in _recorded(folder):
        raise inconsistent(folder, f"no {STATE_FILE}: these results were written before agrade could rescore; "
                                   "run agrade evaluate again")
    by_id = {o.id: o for o in rnd.organizations}
    rows: list[Row] = []
    shared = Shared()
    with open(folder / STATE_FILE, encoding="utf-8") as fh:
        head = json.loads(fh.readline())
        digests = {sid: s.digest for sid, s in {s.id: s for s in standards.values()}.items()}
        if head.get("standards") != digests:
            raise InputError(Issue(str(folder / STATE_FILE), 1, 1, "$.standards",
                                   "the round's standards changed since these results were written; run agrade evaluate again"))
        for line in fh:
            d = json.loads(line)
            if d["id"] not in by_id:
                raise InputError(Issue(str(folder / STATE_FILE), 0, 0, "$", f"organization {d['id']} is no longer in the "
                                                                           "registry; run agrade evaluate again"))
            rows.append(row_of_state(d, ("file", *d["at"])))
            shared.row(rows[-1])
    return rows, head
