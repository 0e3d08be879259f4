"""Quotas and ranks over a round, kept in sorted structures that change one organization at a
time: what a round needs to be placed once, and to be placed again in milliseconds when one
organization's evidence changes (an appeal).

Quotas ("at most 30% of a district in tier A") are resolved best tier first: within each
scope group, the organizations in the tier (after the quotas of better tiers) are taken in
tie-break order; those beyond floor(share × graded organizations of the group) move one tier
down, where placement runs again (grading.place: that tier's gates, the vetoes) and the next
tier's quota applies to them too. At the boundary, equal organizations are taken by id,
deterministic though arbitrary, and the tier reasons say so.

Distributions (`grading.distribution`, evaluator.standard.distribution) come before the
quotas: within each scope group, among the organizations rated by the same standard, tiers
are taken best first; a tier holding more than its share allows gives its last ones (in
tie-break order) to the next tier down, where placement runs again; a tier holding fewer than
its floor or target asks takes the best-ranked organizations of the tiers below whose vetoes
and gates allow it. The last tier takes whoever is left (its share is reported, never
enforced). Ties at a cut are taken by id, and the reasons say so, as for quotas. Quotas then
apply to the result: a hard cap always wins over a floor.

Ranks: organizations are compared by tier (best first), then by the tie-break keys
(`tier_first`, the default); a round may choose `score_first` (grading: {ranking: score_first}
in round.yaml): the tie-break keys first, the tier only between organizations equal on all of
them (a vetoed organization capped at C then ranks by its score). Equal on everything, they
share a rank ("1224") and are listed by id. Each scope group keeps its organizations sorted,
so a rank is a binary search and moving one organization is an insertion.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Iterable, Mapping

from ..model import ZERO, Grading, Quota
from ..standard.distribution import range_text
from ..terms import SCOPES, pct, scope_key, scope_label, spaced
from .grading import place
from .rows import Row


def scope_value(r: Row, scope: str) -> str:
    return scope_key(scope, r.district, r.street, r.type)


def _rank_key(r: Row, order: str = "tier_first") -> tuple:
    """A graded row's rank key: everything but the last item (the id) equal means a shared rank."""
    if order == "score_first":
        return (r.sort_key, r.tier_index, r.id)
    return (r.tier_index, r.sort_key, r.id)


# what each tie-break key reads as where the ranking order is stated (section:<id> by its title)
_TIE_ZH = {"total": "总分", "base": "基础得分", "bonus": "加分", "veto_count": "一票否决项数", "reviewed_share": "已核查分值占比"}


def ranking_info(order: str, tie_breaks, section_titles: Mapping[str, str] | None = None) -> dict:
    """results.json's `ranking`: the order the round chose and the sentence documents print."""
    keys = []
    for key, desc in tie_breaks:
        label = _TIE_ZH.get(key) or (section_titles or {}).get(key[len("section:"):], key[len("section:"):]) + "得分"
        keys.append(f"{label}{'高' if desc else '低'}者在前")
    scores = "、".join(keys)
    text = (f"先比档次（高档在前），档次相同再比{scores}" if order == "tier_first"
            else f"先比{scores}，均相同再比档次（高档在前）")
    return {"order": order, "tie_breaks": [f"{k} {'desc' if d else 'asc'}" for k, d in tie_breaks],
            "description": f"排名方式：{text}；各项均相同者名次并列"}


def sort_key(values: Mapping[str, Decimal], tie_breaks) -> tuple:
    """The tie-break values of one organization, signed so that ascending order is best first."""
    return tuple((-values.get(k, ZERO) if desc else values.get(k, ZERO)) for k, desc in tie_breaks)


# ------------------------------------------------------------------ distributions

def _tie_note(seq: list[Row], cut: int) -> str:
    """When the organizations either side of a cut in `seq` (best first) are equal on every
    tie-break: the sentence saying so (the cut then falls by id)."""
    if 0 < cut < len(seq) and seq[cut - 1].sort_key == seq[cut].sort_key:
        k = sum(1 for r in seq if r.sort_key == seq[cut].sort_key)
        return f"；与其他 {k - 1} 个组织在排序各项上完全并列，按组织编号先后确定"
    return ""


class Distributions:
    """Every standard's declared distribution over a round, per (standard, scope group): the
    tier each graded organization has after it (`after`), the reasons for each move and what
    each share came to. A change recomputes only the groups it touches."""

    def __init__(self, rows: Iterable[Row], gradings: Mapping[str, Grading]):
        self.gradings = gradings
        self.members: dict[tuple, dict[str, Row]] = {}
        self.after: dict[str, int | None] = {}
        self.why: dict[str, list[str]] = {}
        self.counts: dict[tuple, list[dict]] = {}
        for r in rows:
            self.after[r.id] = r.tier_before_quota
            k = self._key(r)
            if k is not None:
                self.members.setdefault(k, {})[r.id] = r
        for k in self.members:
            self._allocate(k)

    @property
    def active(self) -> bool:
        return any(g.distribution is not None for g in self.gradings.values())

    def _key(self, r: Row) -> tuple | None:
        d = self.gradings[r.standard].distribution
        return None if d is None or not r.graded else (r.standard, scope_value(r, d.scope))

    def _allocate(self, k: tuple) -> None:
        rows = sorted(self.members.get(k, {}).values(), key=lambda r: (r.sort_key, r.id))      # best first
        g = self.gradings[k[0]]
        d = g.distribution
        tiers = {r.id: r.tier_before_quota for r in rows}
        why: dict[str, list[str]] = {r.id: [] for r in rows}
        counts, n, last = [], len(rows), len(g.tiers) - 1
        for share in d.shares:
            i = g.tier_index(share.tier)
            lo, hi = share.bounds(n)
            head = (f"{scope_label(d.scope, k[1])}档次比例要求{share.text(g.tiers[i].name)}（{n} 个中"
                    f"{range_text(share.kind, lo, hi)}）")
            inside = [r for r in rows if tiers[r.id] == i]
            if len(inside) > hi and i < last:
                note, cut = _tie_note(inside, hi), inside[hi].sort_key
                for pos, r in enumerate(inside, start=1):
                    tie = note if r.sort_key == cut else ""       # only those equal at the cut
                    if pos > hi:
                        lines = [spaced(f"{head}，本组织在该档排第 {pos}，调整为", f"{g.tiers[i + 1].name}{tie}")]
                        tiers[r.id] = place(g, i + 1, list(r.caps), r.gate_failures or {}, lines)
                        why[r.id] += lines
                    elif tie:
                        why[r.id].append(f"{head}，本组织保留在该档{tie}")
            elif len(inside) < lo and i < last:
                # the best-ranked below whose vetoes and gates allow this tier move up
                able = [r for r in rows if tiers[r.id] is not None and tiers[r.id] > i
                        and place(g, i, list(r.caps), r.gate_failures or {}, []) == i]
                take = lo - len(inside)
                note = _tie_note(able, take)
                for r in able[:take]:
                    tie = note if note and r.sort_key == able[take].sort_key else ""
                    why[r.id].append(spaced(f"{head}，本组织在可调入的组织中排序靠前，由", g.tiers[tiers[r.id]].name,
                                            "调整为", f"{g.tiers[i].name}{tie}"))
                    tiers[r.id] = i
            counts.append({"standard": k[0], "scope": d.scope, "value": k[1], "tier": share.tier, "rule": share.kind,
                           "share": share.share, "tolerance": share.tolerance, "low": lo, "high": hi, "graded": n})
        self.counts[k] = counts
        for r in rows:
            self.after[r.id] = tiers[r.id]
            if why[r.id]:
                self.why[r.id] = why[r.id]
            else:
                self.why.pop(r.id, None)

    def replace(self, old: Row | None, new: Row) -> dict[str, int | None]:
        """Swap an organization's row; every id whose tier after the distribution changed (and
        the new row's), with that tier."""
        keys = set()
        if old is not None:
            k = self._key(old)
            if k is not None:
                self.members[k].pop(old.id, None)
                keys.add(k)
        self.after[new.id] = new.tier_before_quota
        self.why.pop(new.id, None)
        k = self._key(new)
        if k is not None:
            self.members.setdefault(k, {})[new.id] = new
            keys.add(k)
        before = {rid: self.after[rid] for key in keys for rid in self.members.get(key, {})}
        for key in keys:
            self._allocate(key)
        changed = {rid: self.after[rid] for rid, was in before.items() if self.after[rid] != was}
        changed[new.id] = self.after[new.id]
        return changed

    def report(self) -> list[dict]:
        """What each share came to, per standard and scope group (results.json `distribution`):
        counted on the final tiers, so a quota that overrode the distribution shows as unmet."""
        out = []
        for k in sorted(self.counts):
            g, rows = self.gradings[k[0]], self.members.get(k, {}).values()
            for c in self.counts[k]:
                i = g.tier_index(c["tier"])
                got = sum(1 for r in rows if r.tier_index == i)
                out.append({**c, "count": got, "met": c["low"] <= got <= c["high"]})
        return out


# ------------------------------------------------------------------ quotas

class _Group:
    """One quota's scope group: its graded members and, sorted, those in the quota's tier."""
    __slots__ = ("quota", "value", "members", "cand", "moved")

    def __init__(self, quota: Quota, value: str):
        self.quota, self.value = quota, value
        self.members = 0                  # graded organizations of the group with this quota
        self.cand: list[tuple] = []       # (sort_key, id) of those in the tier when the quota applies
        self.moved: set[str] = set()      # ids the quota moved down

    @property
    def allowed(self) -> int:
        return int((self.quota.max_share * self.members).to_integral_value(ROUND_FLOOR))


class Quotas:
    """Every quota of a round, resolved best tier first, kept so one organization can change.

    Steps are the round's distinct quotas in tier order. For each row, `entering[id][i]` is its
    tier when step i applies; each (step, scope group) keeps its candidates sorted and the set
    it moved down (those past the allowed count): invariants every change restores."""

    def __init__(self, rows: Iterable[Row], gradings: Mapping[str, Grading]):
        self.gradings = gradings
        self.rows: dict[str, Row] = {}
        steps: dict[tuple, Quota] = {}
        for g in gradings.values():
            for q in g.quotas:
                steps.setdefault((q.tier, q.max_share, q.scope), q)
        tier_pos = lambda q: min([t.id for t in g.tiers].index(q.tier) for g in gradings.values()   # noqa: E731
                                 if q.tier in [t.id for t in g.tiers])
        self.steps: list[Quota] = sorted(steps.values(), key=lambda q: (tier_pos(q), q.tier, q.max_share, q.scope))
        # per step: the standards (ids) that set its quota. Asked per row and step (six times
        # an organization when a round is placed), the quotas compared each time cost 0.06 s
        # of a 20,000-organization round's placing, alone in the main process.
        self.sets: list[frozenset[str]] = [
            frozenset(sid for sid, g in gradings.items()
                      if any((x.tier, x.max_share, x.scope) == (q.tier, q.max_share, q.scope) for x in g.quotas))
            for q in self.steps]
        self.groups: list[dict[str, _Group]] = [{} for _ in self.steps]
        self.entering: dict[str, list] = {}
        rows = list(rows)
        self.distributions = Distributions(rows, gradings)     # first: quotas cap what it gives
        for r in rows:
            self.rows[r.id] = r
            self.entering[r.id] = [None] * len(self.steps)
        # per step, each row's group (None: the step's quota is not its standard's, or it is not
        # graded), found once, not once for the count, once entering and once after the step
        # (_enter, _after): 0.03 s of the 0.06 placing the quotas of 20,000 organizations took
        groups = [[self._group(i, r) if self._applies(i, r) else None for r in rows] for i in range(len(self.steps))]
        for of_step in groups:
            for grp in of_step:
                if grp is not None:
                    grp.members += 1
        tier_ids = {sid: [t.id for t in g.tiers] for sid, g in gradings.items()}
        tiers = [self.distributions.after[r.id] for r in rows]
        for i, step in enumerate(self.steps):
            for r, grp, tier in zip(rows, groups[i], tiers):       # _enter(i, r, tier), sorted below
                self.entering[r.id][i] = tier
                if grp is not None and tier is not None and tier_ids[r.standard][tier] == step.tier:
                    grp.cand.append((r.sort_key, r.id))
            for grp in self.groups[i].values():
                grp.cand.sort()
                grp.moved = {rid for _, rid in grp.cand[grp.allowed:]}
            # _after(i, r): only those the step moved (all of them its candidates) change
            tiers = [self._after(i, r) if grp is not None and r.id in grp.moved else tier
                     for r, grp, tier in zip(rows, groups[i], tiers)]
        for r, tier in zip(rows, tiers):
            r.tier_index = tier

    # -- membership

    def _applies(self, i: int, r: Row) -> bool:
        return r.graded and r.standard in self.sets[i]

    def _group(self, i: int, r: Row) -> _Group:
        value = scope_value(r, self.steps[i].scope)
        grp = self.groups[i].get(value)
        if grp is None:
            grp = self.groups[i][value] = _Group(self.steps[i], value)
        return grp

    def _candidate(self, i: int, r: Row, tier: int | None) -> bool:
        return (tier is not None and self._applies(i, r)
                and self.gradings[r.standard].tiers[tier].id == self.steps[i].tier)

    def _enter(self, i: int, r: Row, tier: int | None) -> None:
        """Row r reaches step i in tier `tier` (a candidate when that is the step's tier)."""
        self.entering[r.id][i] = tier
        if self._candidate(i, r, tier):
            bisect.insort(self._group(i, r).cand, (r.sort_key, r.id))

    def _leave(self, i: int, r: Row) -> None:
        """Row r no longer reaches step i as it did (its candidacy, if any, is withdrawn)."""
        if self._candidate(i, r, self.entering[r.id][i]):
            grp = self._group(i, r)
            item = (r.sort_key, r.id)
            j = bisect.bisect_left(grp.cand, item)
            if j < len(grp.cand) and grp.cand[j] == item:
                del grp.cand[j]
        self.entering[r.id][i] = None

    def _position(self, grp: _Group, r: Row) -> int | None:
        item = (r.sort_key, r.id)
        j = bisect.bisect_left(grp.cand, item)
        return j if j < len(grp.cand) and grp.cand[j] == item else None

    def _after(self, i: int, r: Row) -> int | None:
        """Row r's tier after step i: one tier down and placed again if the step moved it."""
        tier = self.entering[r.id][i]
        if not self._candidate(i, r, tier) or r.id not in self._group(i, r).moved:
            return tier
        g = self.gradings[r.standard]
        if tier >= len(g.tiers) - 1:
            return tier
        return place(g, tier + 1, list(r.caps), r.gate_failures or {}, [])

    # -- one organization changes

    def replace(self, old: Row | None, new: Row) -> dict[str, int | None]:
        """Swap an organization's row (re-scored, or new); the ids whose final tier changed,
        with the tier index each had before."""
        final_before = {new.id: old.tier_index if old is not None else None}
        touched: list[set[int]] = [set() for _ in self.steps]
        if old is not None:
            for i in range(len(self.steps)):
                self._leave(i, old)
                if self._applies(i, old):
                    grp = self._group(i, old)
                    grp.members -= 1
                    touched[i].add(id(grp))
        self.rows[new.id] = new
        self.entering[new.id] = [None] * len(self.steps)
        for i in range(len(self.steps)):
            if self._applies(i, new):
                grp = self._group(i, new)
                grp.members += 1
                touched[i].add(id(grp))
        dirty: dict[str, int | None] = {new.id: new.tier_before_quota}
        if self.distributions.active:     # the distribution may move others of its group too
            dirty = self.distributions.replace(old, new)
            for rid in dirty:
                final_before.setdefault(rid, self.rows[rid].tier_index)
        for i in range(len(self.steps)):
            groups = {id(g): g for g in self.groups[i].values()}
            for rid, tier in dirty.items():
                r = self.rows[rid]
                self._leave(i, r)
                self._enter(i, r, tier)
                if self._applies(i, r):
                    touched[i].add(id(self._group(i, r)))
            flipped: set[str] = set()
            for gid in touched[i]:
                grp = groups[gid]
                now = {rid for _, rid in grp.cand[grp.allowed:]}
                flipped |= now ^ grp.moved
                grp.moved = now
            nxt: dict[str, int | None] = {}
            for rid in set(dirty) | flipped:
                r = self.rows[rid]
                after = self._after(i, r)
                if i + 1 < len(self.steps):
                    if rid in dirty or self.entering[rid][i + 1] != after:
                        nxt[rid] = after
                else:
                    final_before.setdefault(rid, r.tier_index)
                    r.tier_index = after
            dirty = nxt
        if not self.steps:
            for rid, tier in dirty.items():
                self.rows[rid].tier_index = tier
        return {rid: was for rid, was in final_before.items() if self.rows[rid].tier_index != was}

    # -- what the reasons say

    def reasoned(self) -> set[str]:
        """The ids of the rows `reasons` may say anything of: those a distribution moved, and
        in each quota group those past its allowed count or equal on every tie-break to the
        first of them. Asked once before every row's reasons are (results.json's round parts):
        asking all 20,000 organizations of a round took 0.035 s, for nothing but a few."""
        ids = set(self.distributions.why)
        for groups in self.groups:
            for grp in groups.values():
                if grp.allowed < len(grp.cand):
                    first = bisect.bisect_left(grp.cand, (grp.cand[grp.allowed][0],))
                    ids.update(rid for _, rid in grp.cand[first:])
        return ids

    def reasons(self, r: Row) -> list[str]:
        """The tier reasons quota steps add to row r (its position and the group's counts)."""
        out: list[str] = list(self.distributions.why.get(r.id, ()))
        for i, q in enumerate(self.steps):
            tier = self.entering[r.id][i]
            if not self._candidate(i, r, tier):
                continue
            grp = self._group(i, r)
            allowed = grp.allowed
            g = self.gradings[r.standard]
            boundary = grp.cand[allowed][0] if allowed < len(grp.cand) else None
            tie = (boundary is not None and allowed > 0 and grp.cand[allowed - 1][0] == boundary
                   and r.sort_key == boundary)
            note = ""
            if tie:
                lo = bisect.bisect_left(grp.cand, (boundary,))
                hi = bisect.bisect_right(grp.cand, (boundary, "\U0010ffff"))
                note = f"；与其他 {hi - lo - 1} 个组织在排序各项上完全并列，按组织编号先后确定名额"
            head = (f"{scope_label(q.scope, grp.value)}{g.tiers[tier].name}名额为 {pct(q.max_share, 2)}"
                    f"（{grp.members} 个中最多 {allowed} 个），本组织")
            if r.id in grp.moved and tier < len(g.tiers) - 1:
                moved = [spaced(f"{head}在该档排第 {self._position(grp, r) + 1}，调整为", f"{g.tiers[tier + 1].name}{note}")]
                place(g, tier + 1, list(r.caps), r.gate_failures or {}, moved)
                out += moved
            elif tie:
                out.append(f"{head}保留在该档{note}")
        return out


# ------------------------------------------------------------------ ranks

class Ranks:
    """Graded rows sorted by rank in every scope group; ranks by binary search."""

    def __init__(self, rows: Iterable[Row], order: str = "tier_first"):
        self.order = order
        self.keys: dict[str, tuple] = {}
        self.groups: dict[str, dict[str, list[tuple]]] = {s: defaultdict(list) for s in SCOPES}
        self.rows: dict[str, Row] = {}
        for r in rows:
            self.rows[r.id] = r
            if r.graded:
                self.keys[r.id] = _rank_key(r, order)
                for s in SCOPES:
                    self.groups[s][scope_value(r, s)]      # the groups in registry order, as before
        # sorted once: every group filled in rank order is sorted (0.03 s of the main
        # process's 0.13 at 20,000 organizations went to sorting each scope's groups again)
        for k in sorted(self.keys.values()):
            r = self.rows[k[-1]]
            for s in SCOPES:
                self.groups[s][scope_value(r, s)].append(k)
        # each group's rows, parallel to its keys: made by `with_rows` for a round that will be
        # re-scored (not for a round only written once), then kept as rows move
        self.members: dict[str, dict[str, list[Row]]] | None = None

    def with_rows(self) -> None:
        """Keep each group's rows as well, in its keys' order (`members`): a rescore shifts the
        ranks of a slice of rows without a look-up per row (thousands when one moves a tier;
        on a loaded host each look-up of a row by id touched memory far from the last)."""
        if self.members is None:
            row = self.rows.__getitem__
            self.members = {s: {value: [row(k[-1]) for k in lst] for value, lst in groups.items()}
                            for s, groups in self.groups.items()}

    def rank(self, r: Row, scope: str) -> int | None:
        k = self.keys.get(r.id)
        if k is None:
            return None
        lst = self.groups[scope][scope_value(r, scope)]
        return bisect.bisect_left(lst, k[:-1]) + 1

    def ordered(self, scope: str = "round") -> list[str]:
        """Ids of the graded rows in rank order (the round scope: everyone)."""
        return [k[2] for k in self.groups[scope][""]] if scope == "round" else [
            k[2] for value in sorted(self.groups[scope]) for k in self.groups[scope][value]]

    def update(self, r: Row) -> None:
        """Row r (same id, maybe a new row object) moved: re-sorted in each of its groups."""
        old = self.keys.pop(r.id, None)
        prev = self.rows.get(r.id)
        self.rows[r.id] = r
        members = self.members
        if old is not None:
            for s in SCOPES:
                value = scope_value(prev, s)
                lst = self.groups[s][value]
                j = bisect.bisect_left(lst, old)
                if j < len(lst) and lst[j] == old:
                    del lst[j]
                    if members is not None:
                        del members[s][value][j]
        if r.graded:
            k = _rank_key(r, self.order)
            self.keys[r.id] = k
            for s in SCOPES:
                value = scope_value(r, s)
                lst = self.groups[s][value]
                j = bisect.bisect_left(lst, k)
                lst.insert(j, k)
                if members is not None:
                    members[s].setdefault(value, []).insert(j, r)

    def assign(self) -> list[Row]:
        """Set every row's ranks (for writing); the graded rows in rank order."""
        row = self.rows.__getitem__
        for s in SCOPES:
            attr = "rank_" + s
            for lst in self.groups[s].values():
                # a rank key is (a, b, id) (_rank_key): equal a and b share a rank. Compared
                # item by item, not as k[:-1] slices (a tuple made per organization and scope)
                pa = pb = rank = None
                for pos, (a, b, rid) in enumerate(lst, start=1):
                    if rank is None or a != pa or b != pb:
                        pa, pb, rank = a, b, pos
                    setattr(row(rid), attr, rank)
        for r in self.rows.values():
            if not r.graded:
                r.rank_round = r.rank_district = r.rank_street = r.rank_type = None
        return [self.rows[rid] for rid in self.ordered()]
