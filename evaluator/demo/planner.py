"""Plan one organization's evidence values from a standard, without knowing its field ids.

The planner reads the compiled standard: which fields each criterion reads, the numbers
its method compares against (thresholds, band edges, ratio targets, literals in its
expressions), how often a records field must hold an entry. For every criterion it picks
a wanted outcome from the organization's latent quality (pass / partial / fail; a bonus
or not; a veto hit only for the rare organization chosen for one), proposes values for the
fields it reads that are not yet set, and keeps the first proposal the real scoring method
(`engine.score_criterion`) agrees with. Veto criteria that must not fire are checked
against every proposal that touches their fields, so a weak organization's late election
does not trip the "election overdue" veto by accident.
"""
from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections import defaultdict
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ..scoring.criteria import org_env, score_criterion
from ..standard.expr import Binary, Call, ListLit, Literal, Name, Unary
from ..model import ZERO, Criterion, Field, Organization, Standard
from ..model import Record
from ..standard.periods import periods

TRIES = 24
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
_SIZE_LABEL = re.compile(r"^(正式|预备)?党员(总数|人数|数)")
_DEFAULT_RANGE = {"人": (1, 20), "名": (1, 20), "个": (0, 8), "次": (0, 8), "m2": (40, 900),
                  "户": (100, 3000), "元": (2000, 300000), "天": (0, 60)}
_TEXT = ("已按要求落实", "详见工作台账", "正在整改", "已建立长效机制", "按季度更新")
Q4 = Decimal("0.0001")


# ------------------------------------------------------------------ reading the standard

def _walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Binary):
            stack += [n.right, n.left]
        elif isinstance(n, Unary):
            stack.append(n.operand)
        elif isinstance(n, Call):
            stack += list(reversed(n.args))
        elif isinstance(n, ListLit):
            stack += list(n.items)


def _names(node) -> list[str]:
    return sorted({n.name for n in _walk(node) if isinstance(n, Name)})


def _literals(node) -> list[Literal]:
    return [n for n in _walk(node) if isinstance(n, Literal)]


def _exprs(c: Criterion) -> list:
    p = c.params
    m = c.method
    if m == "check":
        return [p]
    if m == "bands" and p[0] == "number":
        return [p[1]]
    if m == "ratio":
        return [e for e in p[:2] if e is not None]
    if m in ("deduction", "bonus"):
        return [item[3] for item in p]
    if m in ("veto", "info"):
        return [p[0]]
    return []


def _bare(expr) -> str | None:
    """The field name when an expression is just one field."""
    tree = expr._tree
    return tree.name if isinstance(tree, Name) else None


class Profile:
    """What the planner needs to know about one standard, computed once."""

    def __init__(self, std: Standard, period: tuple[dt.date, dt.date]):
        self.std = std
        self.period = period
        self.fields: dict[str, Field] = dict(std.fields)
        self.criteria = list(std.criteria.values())
        self.vetoes = [c for c in self.criteria if c.kind == "veto"]
        self.scored = [c for c in self.criteria if c.kind != "veto"]
        self.anchors: dict[str, list[Decimal]] = defaultdict(list)       # numbers near which outcomes change
        self.day_anchors: dict[str, list[Decimal]] = defaultdict(list)   # date fields: days before period end
        self.date_anchors: dict[str, list[dt.date]] = defaultdict(list)
        self.strings: dict[str, list[str]] = defaultdict(list)
        readers: dict[str, set[str]] = defaultdict(set)
        self.forbid: set[str] = set()
        self.applies_names: dict[str, list[str]] = {}
        for c in self.criteria:
            for f in c.reads:
                readers[f].add(c.kind)
                if c.na_policy == "forbid":
                    self.forbid.add(f)
            exprs = _exprs(c) + ([c.applies_if] if c.applies_if is not None else [])
            for e in exprs:
                self._scan(e._tree)
            self.applies_names[c.id] = _names(c.applies_if._tree) if c.applies_if is not None else []
            p = c.params
            if c.method == "threshold":
                self.anchors[p[0].id].append(p[2])
            elif c.method == "bands" and p[0] == "number":
                names = [p[3].id] if p[3] is not None else _names(p[1]._tree)
                for n in names:
                    self.anchors[n] += [b[0] for b in p[2]]
            elif c.method == "ratio" and p[1] is None and _bare(p[0]):
                self.anchors[_bare(p[0])].append(p[2])
        for fid in self.anchors:
            self.anchors[fid] = sorted(set(self.anchors[fid]))
        # count fields read only by bonus / deduction / veto criteria are mostly zero
        self.rare = {f for f, kinds in readers.items() if kinds <= {"bonus", "veto"}}
        self.read = set(readers)
        self.can_partial = {c.id: self._can_partial(c) for c in self.criteria}
        self._spans: dict[str, list] = {}
        # veto criteria sharing a field with each criterion (checked against its proposals)
        self.touching = {c.id: {v.id for v in self.vetoes if v is not c and set(v.reads) & set(c.reads)}
                         for c in self.criteria}
        # outcomes depend only on the fields read (and org.* names used): cache the cheap kinds
        self._cache: dict[tuple, Any] = {}
        self._cacheable = {}
        for c in self.criteria:
            exprs = _exprs(c) + ([c.applies_if] if c.applies_if is not None else [])
            org_names = sorted({n for e in exprs for n in e.names if n.startswith("org.")})
            small = all(self.fields[f].type in ("boolean", "enum", "integer") for f in c.reads)
            self._cacheable[c.id] = (small, tuple(org_names))

    def score(self, c: Criterion, env: dict):
        small, org_names = self._cacheable[c.id]
        if not small:
            return score_criterion(c, env)
        key = (c.id,) + tuple(env.get(f) for f in c.reads) + tuple(env[n] for n in org_names)
        o = self._cache.get(key)
        if o is None:
            o = self._cache[key] = score_criterion(c, env)
        return o

    def spans(self, every: str) -> list:
        if every not in self._spans:
            self._spans[every] = periods(every, *self.period)
        return self._spans[every]

    def _scan(self, tree):
        for n in _walk(tree):
            if isinstance(n, Binary) and n.op in _COMPARE:
                for side, other in ((n.left, n.right), (n.right, n.left)):
                    lits = _literals(other)
                    for name in _names(side):
                        f = self.fields.get(name)
                        if f is None:
                            continue
                        for lit in lits:
                            v = lit.value
                            if isinstance(v, bool):
                                continue
                            if isinstance(v, Decimal):
                                if f.type == "date":
                                    self.day_anchors[name].append(v)
                                elif f.type == "records":
                                    self.anchors[name].append(v)
                                else:
                                    self.anchors[name].append(v)
                            elif isinstance(v, dt.date) and f.type == "date":
                                self.date_anchors[name].append(v)
                            elif isinstance(v, str) and f.type in ("text", "enum"):
                                self.strings[name].append(v)
            if isinstance(n, Binary) and n.op in ("in", "not in") and isinstance(n.right, ListLit):
                for name in _names(n.left):
                    self.strings[name] += [i.value for i in n.right.items if isinstance(i.value, str)]

    def _can_partial(self, c: Criterion) -> bool:
        p = c.params
        if c.method == "bands":
            table = p[2]
            return any(ZERO < pts < c.points for _, pts in table)
        if c.method == "ratio":
            return p[3] == "proportional"
        if c.method == "frequency":
            return p[3] < c.points
        if c.method == "deduction":
            return any(item[4] < c.points for item in p)
        return False


# ------------------------------------------------------------------ planning one organization

class OrgPlanner:
    def __init__(self, prof: Profile, org: Organization, size: int, quality: float, rng: random.Random):
        self.p = prof
        self.org = org
        self.size = size
        self.q = quality
        self.rng = rng
        self.values: dict[str, Any] = {}
        self.env = org_env(org, {}, prof.period)
        self.pending: list[Criterion] = []
        self.dom = rng.randint(3, 25)      # the organization's fixed day of the month for meetings

    # ---------------------------------------------------------------- driver

    def plan(self, veto_hit: Criterion | None) -> dict[str, Any]:
        self.pending = [v for v in self.p.vetoes if v is not veto_hit]
        if veto_hit is not None:
            self.solve(veto_hit, "hit")
        for c in self.p.scored:
            self.solve(c, self.want(c))
        for v in list(self.pending):
            self.pending.remove(v)
            self.solve(v, "clear")
        for fid, f in self.p.fields.items():       # fields no criterion reads (remarks and the like)
            if fid not in self.p.read and self.rng.random() < (0.1 if f.type == "text" else 0.5):
                self.values[fid] = self.random_value(f)
        return self.values

    def want(self, c: Criterion) -> str:
        r = self.rng.random()
        if c.kind == "bonus":
            share = 0.30 if self.q >= 0.9 else (0.15 if self.q >= 0.72 else 0.04)
            return "some" if r < share else "none"
        if c.kind == "info":
            return "any"
        if r < self.q:
            return "pass"
        return "partial" if self.p.can_partial[c.id] and self.rng.random() < 0.65 else "fail"

    # ---------------------------------------------------------------- solving one criterion

    def solve(self, c: Criterion, want: str):
        self._touch = self.p.touching[c.id]
        if c.applies_if is not None:
            todo = [n for n in self.p.applies_names[c.id] if n in self.p.fields and n not in self.values]
            if todo:
                applicable = self.rng.random() < 0.92
                self._search(c, todo, lambda o: (o.outcome != "not_applicable") == applicable, applies_only=True)
            try:
                if not c.applies_if.evaluate(self.env):
                    return
            except Exception:
                return
        todo = [f for f in c.reads if f not in self.values]
        if not todo:
            return
        self._search(c, todo, lambda o: _matches(o, want), want=want)

    def _search(self, c: Criterion, todo: list[str], ok, want: str = "any", applies_only: bool = False):
        best, best_d, last = None, None, None
        target = {"pass": c.points, "partial": c.points / 2, "fail": ZERO}.get(want)
        env = self.env
        if c.method == "frequency" and not applies_only and not self._touch and todo == [c.params[0].id] \
                and want in ("pass", "partial", "fail"):
            cand = self._candidate(c, todo, want, 0, False)      # built to the method's own rule
            self.values.update(cand)
            env.update(cand)
            return
        for i in range(TRIES):
            cand = self._candidate(c, todo, want, i, applies_only)
            env.update(cand)
            try:
                o = self.p.score(c, env)
                clear = o.outcome != "error" and self._vetoes_clear(cand, env)
            finally:
                for k in cand:
                    del env[k]
            last = cand
            if not clear:
                continue
            if ok(o):
                best = cand
                break
            if applies_only:
                best = best or cand
                continue
            d = abs(o.points - target) if target is not None else 0
            if best_d is None or d < best_d:
                best, best_d = cand, d
        chosen = best if best is not None else last
        self.values.update(chosen)
        env.update(chosen)

    def _env(self, cand: dict) -> dict:
        env = dict(self.env)
        env.update(cand)
        return env

    def _vetoes_clear(self, cand: dict, env: dict) -> bool:
        for v in self.pending:
            if v.id not in self._touch or not any(f in cand for f in v.reads):
                continue
            if any(f not in env for f in v.reads):
                continue
            o = self.p.score(v, env)
            if o.veto_hit or o.outcome == "error":
                return False
        return True

    # ---------------------------------------------------------------- proposals

    def _candidate(self, c: Criterion, todo: list[str], want: str, i: int, applies_only: bool) -> dict:
        cand: dict[str, Any] = {}
        if not applies_only and i < TRIES - 6:
            self._targeted(c, todo, want, cand)
        for f in todo:
            if f not in cand:
                cand[f] = self.random_value(self.p.fields[f], c)
        return cand

    def _targeted(self, c: Criterion, todo: list[str], want: str, cand: dict):
        p, m = c.params, c.method
        if m == "threshold":
            f, op, value = p
            if f.id in todo:
                good = want == "pass"
                up = op in (">=", ">")
                closed = (op in (">=", "<=")) if good else (op in (">", "<"))
                cand[f.id] = self._side(f, value, above=(good == up), open_=not closed)
        elif m == "bands" and p[0] == "number" and p[3] is not None and p[3].id in todo:
            f, table = p[3], p[2]          # table: (min, points), highest min first
            full = [t for t in table if t[1] >= c.points]
            mid = [t for t in table if ZERO < t[1] < c.points]
            if want == "pass" and full:
                lo = full[0][0]
                cand[f.id] = self._between(f, lo, lo * Decimal("1.5") + 1)
            elif want == "partial" and mid:
                k = table.index(self.rng.choice(mid))
                hi = table[k - 1][0] if k > 0 else table[k][0] * 2 + 1
                cand[f.id] = self._between(f, table[k][0], hi, hi_open=True)
            elif want == "fail":
                lowest = min((t[0] for t in table if t[1] > ZERO), default=table[-1][0])
                cand[f.id] = self._between(f, lowest * Decimal("0.4"), lowest, hi_open=True)
        elif m == "bands" and p[0] == "enum" and p[1].id in todo:
            f, table = p[1], dict(p[2])
            pts = {v: table.get(v, ZERO) for v in f.values}
            pick = {"pass": [v for v in f.values if pts[v] >= c.points],
                    "partial": [v for v in f.values if ZERO < pts[v] < c.points],
                    "fail": [v for v in f.values if pts[v] == ZERO]}.get(want)
            if pick:
                cand[f.id] = self.rng.choice(pick)
        elif m == "ratio":
            self._ratio(c, todo, want, cand)
        elif m == "frequency" and p[0].id in todo:
            cand[p[0].id] = self._frequency(c, want)
        elif m in ("deduction", "bonus"):
            clean = want in ("pass", "none")
            for item in p:
                name = _bare(item[3])
                if name in todo and self.p.fields[name].type in ("integer", "number"):
                    if clean:
                        cand[name] = ZERO
                    elif self.rng.random() < 0.6:
                        cand[name] = Decimal(self.rng.choice((1, 1, 1, 2, 2, 3)))
                    else:
                        cand[name] = ZERO

    def _ratio(self, c: Criterion, todo: list[str], want: str, cand: dict):
        num, den, target, scoring = c.params
        name = _bare(num)
        if name is None or name not in todo:
            return
        f = self.p.fields[name]
        rng = self.rng
        if want == "pass":
            r = Decimal(1) if target >= 1 else target + (1 - target) * Decimal(str(rng.random()))
        elif want == "partial":
            r = target * Decimal(str(rng.uniform(0.45, 0.97)))
        else:
            r = target * Decimal(str(rng.uniform(0.3, 0.97)))
        if den is None:
            cand[name] = self._fit(f, r, ceil=want == "pass")
            return
        for dn in sorted(den.names):
            if dn in todo and dn not in cand and dn in self.p.fields:
                cand[dn] = self.random_value(self.p.fields[dn], c, positive=True)
        try:
            d = Decimal(den.evaluate(self._env(cand)))
        except Exception:
            return
        if d <= 0:
            return
        cand[name] = self._fit(f, d * r, ceil=want == "pass")

    def _fit(self, f: Field, v: Decimal, ceil: bool) -> Decimal:
        if f.type == "integer":
            v = v.to_integral_value(ROUND_CEILING if ceil else ROUND_FLOOR)
        elif f.type == "percentage":
            v = v.quantize(Q4, ROUND_CEILING if ceil else ROUND_FLOOR)
        else:
            v = v.quantize(Decimal("0.1"), ROUND_CEILING if ceil else ROUND_FLOOR)
        return self._clip(f, v)

    def _frequency(self, c: Criterion, want: str) -> tuple:
        f, every, at_least, deduct = c.params
        spans = self.p.spans(every)
        need = len(spans) * at_least
        cap = math.ceil(c.points / deduct) if deduct > 0 else need
        rng = self.rng
        if want == "pass":
            missing = 0
        elif want == "partial" and cap > 1:
            hi = min(cap - 1, need)
            missing = min(hi, 1 + int(rng.expovariate(1.2 if self.q > 0.72 else 0.6)))
        else:
            missing = rng.randint(min(cap, need), need) if need else 0
        slots = [(i, k) for i in range(len(spans)) for k in range(at_least)]
        dropped = set(rng.sample(range(len(slots)), min(missing, len(slots))))
        dates = set()
        for n, (i, k) in enumerate(slots):
            if n in dropped:
                continue
            dates.add(self._date_in(spans[i], every, k))
        if missing == 0 and rng.random() < 0.15 and spans:        # an extra meeting now and then
            dates.add(self._date_in(rng.choice(spans), "year", 0))
        return tuple(Record(d) for d in sorted(dates))

    def _date_in(self, span, every: str, k: int) -> dt.date:
        start, end = span
        if every == "month":
            day = min(self.dom + 7 * k + self.rng.randint(-2, 2), (end - start).days + 1)
            d = start + dt.timedelta(days=max(0, day - 1))
            if d.weekday() == 5:
                d -= dt.timedelta(days=1)
            elif d.weekday() == 6:
                d += dt.timedelta(days=1)
            return min(max(d, start), end)
        return start + dt.timedelta(days=self.rng.randint(0, (end - start).days))

    # ---------------------------------------------------------------- values by type

    def _side(self, f: Field, value: Decimal, above: bool, open_: bool) -> Decimal:
        """A value on one side of `value` (excluding it when open_)."""
        if above:
            return self._between(f, value, value * Decimal("1.5") + (1 if f.type != "percentage" else 0), lo_open=open_)
        return self._between(f, value * Decimal("0.5"), value, hi_open=open_)

    def _between(self, f: Field, lo: Decimal, hi: Decimal, lo_open=False, hi_open=False) -> Decimal:
        lo, hi = Decimal(lo), Decimal(hi)
        if f.type == "percentage":
            hi = min(hi, f.max if f.max is not None else Decimal(1))
        if f.type == "integer":
            a = int(lo.to_integral_value(ROUND_CEILING))
            if lo_open and a == lo:
                a += 1
            b = int(hi.to_integral_value(ROUND_FLOOR))
            if hi_open and b == hi:
                b -= 1
            if b < a:
                b = a
            return self._clip(f, Decimal(self.rng.randint(a, b)))
        step = Q4 if f.type == "percentage" else (Decimal(1) if self.rng.random() < 0.75 else Decimal("0.1"))
        v = (lo + (hi - lo) * Decimal(str(self.rng.random()))).quantize(step)
        if lo_open and v <= lo:
            v = lo + step
        if hi_open and v >= hi:
            v = hi - step
        return self._clip(f, v)

    def _clip(self, f: Field, v: Decimal) -> Decimal:
        lo = f.min if f.min is not None else ZERO
        hi = f.max if f.max is not None else (Decimal(1) if f.type == "percentage" else None)
        if v < lo:
            v = lo
        if hi is not None and v > hi:
            v = hi
        return v

    def random_value(self, f: Field, c: Criterion | None = None, positive: bool = False) -> Any:
        rng = self.rng
        t = f.type
        if t == "boolean":
            return rng.random() < 0.5
        if t == "enum":
            return rng.choice(f.values)
        if t == "text":
            return rng.choice(self.p.strings.get(f.id) or _TEXT)
        if t == "date":
            return self._random_date(f)
        if t == "records":
            return self._random_records(f)
        if f.id in self.p.rare and not positive:
            return ZERO if rng.random() < 0.5 else Decimal(rng.choice((1, 1, 2, 3)))
        if t == "integer" and f.unit in ("人", "名") and _SIZE_LABEL.match(f.label):
            if f.label.startswith("预备"):
                return Decimal(max(1 if positive else 0, round(self.size * rng.uniform(0, 0.08))))
            return self._clip(f, Decimal(max(1, round(self.size * rng.uniform(0.9, 1.1)))))
        anchors = self.p.anchors.get(f.id)
        if t == "percentage":
            if anchors and rng.random() < 0.5:
                a = rng.choice(anchors)
                return self._between(f, a * Decimal("0.7"), a * Decimal("1.2"))
            return self._between(f, Decimal("0.35"), Decimal(1))
        if anchors and rng.random() < 0.6:
            a = rng.choice(anchors)
            if a == 0:
                v = Decimal(rng.randint(1 if positive else 0, 4))
            else:
                v = self._between(f, a * Decimal("0.5"), a * Decimal("1.6"))
        else:
            lo, hi = _DEFAULT_RANGE.get(f.unit or "", (0, 20 if t == "integer" else 100))
            v = Decimal(int(round(math.exp(rng.uniform(math.log(lo + 1), math.log(hi + 1))))) - 1)
            if t == "number" and rng.random() < 0.3:
                v += Decimal(rng.randint(0, 9)) / 10
        if positive and v <= 0:
            v = Decimal(1)
        return self._clip(f, v)

    def _random_date(self, f: Field) -> dt.date:
        rng = self.rng
        end = self.p.period[1]
        days = self.p.day_anchors.get(f.id)
        dates = self.p.date_anchors.get(f.id)
        if days and rng.random() < 0.7:
            back = int(rng.choice(days) * Decimal(str(rng.uniform(0.5, 1.5))))
        elif dates and rng.random() < 0.7:
            return rng.choice(dates) + dt.timedelta(days=rng.randint(-200, 200))
        else:
            back = rng.randint(30, 1500)
        return end - dt.timedelta(days=max(0, back))

    def _random_records(self, f: Field) -> tuple:
        rng = self.rng
        start, end = self.p.period
        anchors = self.p.anchors.get(f.id)
        if anchors and rng.random() < 0.7:
            n = int(rng.choice(anchors) * Decimal(str(rng.uniform(0.5, 1.4))))
        else:
            n = rng.randint(0, 12)
        months = []
        d = dt.date(start.year, start.month, 1)
        while d <= end:
            months.append(d)
            d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        picked = sorted(rng.sample(months, min(n, len(months)))) if months else []
        out = set()
        for m in picked:
            last = (dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1) - dt.timedelta(days=1))
            day = m + dt.timedelta(days=rng.randint(0, (last - m).days))
            if start <= day <= end:
                out.add(day)
        while len(out) < n:
            out.add(start + dt.timedelta(days=rng.randint(0, (end - start).days)))
        return tuple(Record(x) for x in sorted(out))


def _matches(o, want: str) -> bool:
    if want == "hit":
        return o.veto_hit
    if want == "clear":
        return not o.veto_hit and o.outcome not in ("error",)
    if want == "some":
        return o.points > 0
    if want == "none":
        return o.points == 0 and o.outcome != "error"
    if want == "any":
        return o.outcome not in ("error", "not_reviewed")
    return o.outcome == want
