"""Re-scoring one organization of a scored round, in milliseconds: the API an appeal, the
store and the web app call (and `agrade rescore`).

`RoundState` holds a scored round in memory (compact rows, quotas and ranks in sorted
structures, which rules each organization fires for the lists). `rescore` scores the one
organization again, lets the quotas of its groups settle (others may move tier), moves the
changed organizations in the rank structures and shifts the ranks of those between their old
and new places a slice at a time, fires the list rules again only where a result changed,
re-derives the lists, and reports every organization whose tier, rank or list membership
changed.
"""
from __future__ import annotations

import bisect
import collections
import operator
import time
from array import array
from decimal import Decimal
from itertools import chain, repeat

from ..model import Evidence, Organization
from ..standard.yamlsafe import gc_paused
from ..terms import SCOPES
from .lists import ListState
from .placement import scope_value
from .previous import load_previous
from .rows import Row, Shared


class Change:
    """What re-scoring one organization changed: its own result (`before`, `after`), and
    everyone else's tier, ranks or list membership that moved with it (`others`).

    A tier move shifts the ranks of thousands of organizations (8,800 at 100,000): their
    ranks are kept as they were at the rescore, in one array, and `others` is made from them
    when first asked for, not as part of every rescore."""

    def __init__(self, organization: str, before: dict, after: dict, tiers: dict | None = None,
                 ranks: tuple[list[Row], array] | None = None, lists: dict | None = None,
                 phases: dict | None = None):
        self.organization, self.before, self.after = organization, before, after
        self._tiers = tiers or {}      # id -> its tier now, of the others whose tier moved
        # the others whose rank moved: their rows, and their ranks now in SCOPES order, four a
        # row, in an array (thousands of tuples kept would be thousands of objects for the
        # cyclic collector to walk); the ids read when asked for (a row's id does not change)
        self._ranks = ranks or ([], array("l"))
        self._lists = lists or {}      # id -> {'list:red': (was on, is on), ...}, only what flipped
        self._others: dict | None = None
        # seconds spent in each step of the rescore (score, quotas, ranks, lists, report), for
        # the benchmark's breakdown of its slowest rescore
        self.phases = phases or {}

    @property
    def others(self) -> dict[str, dict[str, tuple]]:
        """id -> {what: (before, after)}: 'tier' (None, tier), 'rank' (None, {scope: rank}),
        'list:red' / 'designation:weak' (was on, is on)."""
        if self._others is None:
            out: dict[str, dict[str, tuple]] = {}
            rows, values = self._ranks
            ranks = {r.id: tuple(v or None for v in values[4 * i:4 * i + 4]) for i, r in enumerate(rows)}
            for rid in sorted(self._tiers.keys() | ranks.keys()):
                diff = out[rid] = {}
                if rid in self._tiers:
                    diff["tier"] = (None, self._tiers[rid])
                if rid in ranks:
                    diff["rank"] = (None, dict(zip(SCOPES, ranks[rid])))
            for rid, items in self._lists.items():
                out.setdefault(rid, {}).update(items)
            self._others = out
        return self._others

    @property
    def changed(self) -> list[str]:
        """Every organization whose tier, rank, list membership or designation changed, this
        one first."""
        moved = lambda b: (b["tier"], b["rank"], b["lists"], b["designations"])      # noqa: E731
        mine = [self.organization] if moved(self.before) != moved(self.after) else []
        return mine + sorted(self._tiers.keys() | {r.id for r in self._ranks[0]} | self._lists.keys())

    def __repr__(self) -> str:
        return (f"Change({self.organization!r}, before={self.before!r}, after={self.after!r}, "
                f"others={self.others!r})")


# a row's ranks in SCOPES order, read in one call (a Change keeps them so)
_RANKS = operator.attrgetter(*("rank_" + s for s in SCOPES))
# after every id: (a, b, _AFTER) sorts after every rank key (a, b, id) of the rank (a, b)
_AFTER = "\U0010ffff"


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
        scored.ranks.with_rows()

    @property
    def lists(self) -> ListState:
        return self.states["lists"]

    def keep_resident(self) -> None:
        """For a process that keeps this round to re-score for long (a LiveRound, a batch of
        appeals): the round's objects, made once and living as long as it, moved out of the
        cyclic garbage collector's way (gc.freeze). Left in, a full pass over them could land
        on any rescore: 222 ms once at 100,000 organizations, against about 5 ms for the
        rescore. Garbage made while loading is collected first, so none of it is frozen;
        `release_resident` gives them back when the round is let go.

        First, the standards' concluding rules are compiled (durable-rules rulesets): made
        when first run, they took 50-100 ms of the first rescore of a process."""
        import gc
        self.scorer.prepare()
        gc.collect()
        gc.freeze()

    @staticmethod
    def release_resident() -> None:
        """The frozen objects back to the collector (a round let go may hold cycles)."""
        import gc
        gc.unfreeze()

    def rescore(self, org: Organization, evidence: Evidence) -> Change:
        """Organization `org` scored again on `evidence`, and everything that follows from it
        (see the module doc). The cyclic collector waits until it returns: a collection
        landing in it walked every row held by the young lists and dicts of a tier move (an
        8,800-row shift: 10-20 ms a pass, 70 ms once for a full one); what it allocates is
        acyclic, freed by reference counting, and the collector runs when next due."""
        with gc_paused():
            return self._rescore(org, evidence)

    def _rescore(self, org: Organization, evidence: Evidence) -> Change:
        clock = time.perf_counter
        t0 = clock()
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
        t1 = clock()

        # who moved tier (the quotas of its groups settle again), and the counts that follow
        was = scored.quotas.replace(old, new)
        moved_tier = set(was) | {new.id}
        scored.summary.add(old, old.tier, -1)
        for rid in set(was) - {new.id}:
            r = self.by_id[rid]
            scored.summary.add(r, r.tier, -1)          # r.tier still names its tier before
        t2 = clock()
        # the lists they were on, asked before their rank keys move
        was_on = {rid: self._memberships(rid) for rid in moved_tier - {org.id}}
        rank_changed = self._rerank(moved_tier, old)

        # tier names where a tier moved (a rank alone leaves it: thousands of rows when one
        # climbs a tier), the rank order again
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
        t3 = clock()

        # (the ids of the rows whose rank moved only where a list rule reads ranks)
        ranked = ({r.id for r in rank_changed.values()} if any(state.reads_ranks for state in self.states.values())
                  else set())
        refires = {kind: moved_tier | (ranked if state.reads_ranks else set())
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
        t4 = clock()

        # the report: the others' tiers and ranks as they are now (their dicts are made when
        # asked for, Change.others), and every list entry and exit
        rank_changed.pop(id(new), None)
        moved_rows = list(rank_changed.values())
        ranks_now = _rank_values(moved_rows)
        tiers_now = {rid: self.by_id[rid].tier for rid in moved_tier - {org.id}}
        lists: dict[str, dict] = {}
        for rid, was_items in was_on.items():
            now = self._memberships(rid)
            for item in sorted(set(was_items) ^ set(now)):
                lists.setdefault(rid, {})[item] = (item in was_items, item in now)
        change = Change(org.id, before, _brief(new, self.states), tiers_now, (moved_rows, ranks_now), lists)
        t5 = clock()
        change.phases = {"score": t1 - t0, "quotas": t2 - t1, "ranks": t3 - t2, "lists": t4 - t3, "report": t5 - t4}
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

    # -------------------------------------------------------------- ranks, by shifts

    def _rerank(self, ids: set[str], old: Row) -> dict[int, Row]:
        """Move the rows `ids` (whose tier moved; `old` the re-scored organization's row before)
        in the rank structures and set the ranks that changed; the rows whose rank changed (by
        object id: a set of their ids would read every id string again).

        A competition rank is 1 + the number of rows strictly ahead in the group. Of the rows
        that did not move, only the moving ones can change that count: each moving row leaves
        its old place (one fewer ahead of every row strictly behind its old rank key) and
        takes its new one (one more ahead of every row strictly behind its new key). So a
        group's ranks change by a constant over the slices between those places, found by
        binary search, and are shifted a slice of rows at a time in C-level map() calls,
        touching each shifted row once: a tier move shifts thousands of rows (8,800 at 100,000
        organizations)."""
        ranks, by_id = self.scored.ranks, self.by_id
        # (scope, group) -> [(rank key, -1 left / +1 entered), ...]
        steps: dict[tuple[str, str], list] = collections.defaultdict(list)
        was_ranks = {}
        for rid in ids:
            r = old if rid == old.id else by_id[rid]
            was_ranks[rid] = _RANKS(r)
            k = ranks.keys.get(rid)
            if k is not None:
                for s in SCOPES:
                    steps[(s, scope_value(r, s))].append((k, -1))
        for rid in ids:
            ranks.update(by_id[rid])
            k = ranks.keys.get(rid)
            if k is not None:
                for s in SCOPES:
                    steps[(s, scope_value(by_id[rid], s))].append((k, +1))
        changed: dict[int, Row] = {}
        for (s, value), group_steps in steps.items():
            lst, rows = ranks.groups[s][value], ranks.members[s][value]
            cuts = sorted((bisect.bisect_left(lst, (k[0], k[1], _AFTER)), d) for k, d in group_steps)
            cuts.append((len(lst), 0))
            shift, attr = 0, "rank_" + s
            for (lo, d), (hi, _) in zip(cuts, cuts[1:]):
                shift += d
                if shift and lo < hi:
                    _shift(rows[lo:hi], attr, shift, changed)
        # the moving rows themselves: their ranks by binary search, kept as changed only if so
        for rid in ids:
            r = by_id[rid]
            changed.pop(id(r), None)
            for s in SCOPES:
                setattr(r, "rank_" + s, ranks.rank(r, s))     # None: no longer graded, no rank
            if _RANKS(r) != was_ranks[rid]:
                changed[id(r)] = r
        return changed


def _rank_values(rows: list[Row]) -> array:
    """The ranks of `rows` in SCOPES order, four a row, 0 for no rank (a row no longer graded)."""
    try:
        return array("l", chain.from_iterable(map(_RANKS, rows)))
    except TypeError:            # a None among them: only a row that moved tier can have one
        return array("l", [v or 0 for v in chain.from_iterable(map(_RANKS, rows))])


def _shift(rows: list[Row], attr: str, by: int, changed: dict[int, Row]) -> None:
    """Rank `attr` of `rows` moved by `by`; the rows into `changed`."""
    get = operator.attrgetter(attr)
    collections.deque(map(setattr, rows, repeat(attr), map(by.__add__, map(get, rows))), maxlen=0)
    changed.update(zip(map(id, rows), rows))


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
