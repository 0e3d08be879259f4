"""The inspection workflow of a stored round: inspectors and teams, assignments, conflicts of
interest, spot-check samples (抽查) and self-report vs verified discrepancies.

A round's inspection plan is a YAML file (schemas/inspection.schema.json), loaded with
`load_plan`: the conflict-of-interest rules, the inspectors (as evidence files name them)
with the units they belong or belonged to, and the teams. The plan belongs to the round:
loading it again replaces it (audited), and a finalized round refuses that.

Conflicts of interest (回避). An inspector may not verify
  - their own unit (本单位回避): an organization they belong to on the day, one whose parent
    organization they belong to, or any organization in the street or district they belong to;
  - a unit they belonged to within N years (原单位回避, rules.former_unit_years): counted as the
    civil code counts periods (民法典 第二百条、第二百零三条): from the day after the last day
    they belonged (`to`), the period ends on the same date N years later (28 February for a
    29 February), which is still refused; the day after, it is allowed;
  - with rules.same_street, any organization in the same street as an organization they
    belong to, or belonged to within those N years (同街道回避).
They are checked when organizations are assigned to a team (every member of the team) and
when a verified value is saved (`check_verifier`, called by the evidence writer).

Spot checks are drawn per stratum (district, street, type by default) at a declared rate:
each non-empty stratum gives round-half-up(rate × its size) organizations, at least one and
at most all of them. The draw uses only `random.Random(seed).random()` (whose sequence
Python guarantees across versions) over the organizations sorted by id, strata in sorted
order, so a recorded seed and the same members always give the same list.
"""
from __future__ import annotations

import datetime
import difflib
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from random import Random

from sqlalchemy import and_, delete, insert, select, update

from ..errors import InputError, Issue
from ..model import Organization
from ..terms import FINDING_ZH, ORG_TYPES, date_text
from .base import Refused, Store, Tx
from .db import now
from .registry import organization_of
from .rounds import get_round, require_open, round_members
from .tables import (assignments, inspection_plans, inspection_teams, inspector_units, inspectors, members,
                     sample_members, samples, team_members, units)

RULE_ZH = {"own_unit": "本单位回避", "former_unit": "原单位回避", "same_street": "同街道回避",
           "unregistered": "核查人未登记", "not_assigned": "非分派考核组核查"}
UNIT_KINDS = ("organization", "street", "district")
STRATA = ("district", "street", "type")
STRATUM_ZH = {"district": "区县", "street": "街道（乡镇）", "type": "领域"}
ROUNDING_ZH = "每层抽取数 = 层内组织数 × 抽样比例，四舍五入取整（0.5 进 1），每个非空层至少 1 个、至多全部"


# ------------------------------------------------------------------ the plan

@dataclass(frozen=True)
class Rules:
    former_unit_years: int
    same_street: bool = False
    registered_only: bool = True      # a verifier the plan does not name is refused
    assigned_only: bool = False       # only the assigned team's members may verify an organization

    def as_json(self) -> dict:
        return {"former_unit_years": self.former_unit_years, "same_street": self.same_street,
                "registered_only": self.registered_only, "assigned_only": self.assigned_only}


@dataclass(frozen=True)
class Membership:
    """An inspector's place in a unit: `start`..`end`, both days included; None: open."""
    kind: str                         # organization | street | district
    code: str                         # the organization's id; 'district/street'; the district
    start: datetime.date | None = None
    end: datetime.date | None = None

    def span(self) -> str:
        if self.start and self.end:
            return f"{date_text(self.start)}至{date_text(self.end)}"
        if self.start:
            return f"{date_text(self.start)}起"
        if self.end:
            return f"至{date_text(self.end)}"
        return "时间未填"


@dataclass(frozen=True)
class Inspector:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    units: tuple[Membership, ...] = ()

    def shown(self) -> str:
        return self.id if self.name == self.id else f"{self.name}（{self.id}）"


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    leader: str | None
    members: tuple[str, ...]
    organizations: tuple[str, ...] = ()      # as declared in the file (assigned on loading)

    def shown(self) -> str:
        return self.id if self.name == self.id else f"{self.name}（{self.id}）"


@dataclass
class Plan:
    round: str
    rules: Rules
    inspectors: dict[str, Inspector]
    teams: dict[str, Team]
    source: str = ""
    digest: str = ""
    title: str = ""

    def find(self, name: str) -> Inspector | None:
        """The inspector evidence names `name` (their id or one of their aliases)."""
        if name in self.inspectors:
            return self.inspectors[name]
        return next((i for i in self.inspectors.values() if name in i.aliases), None)

    def as_json(self) -> dict:
        return {"rules": self.rules.as_json(),
                "inspectors": [{"id": i.id, "name": i.name, "aliases": list(i.aliases),
                                "units": [[m.kind, m.code, m.start, m.end] for m in i.units]}
                               for i in self.inspectors.values()],
                "teams": [{"id": t.id, "name": t.name, "leader": t.leader, "members": list(t.members)}
                          for t in self.teams.values()]}


def _hint(word: str, choices) -> str:
    # 0.5: two-character names (王敏/王民, T1/T3) differ by half when one character is wrong
    close = difflib.get_close_matches(word, list(choices), 1, cutoff=0.5)
    return f"（是否为“{close[0]}”？）" if close else ""


def _day(v) -> datetime.date | None:
    if v is None or isinstance(v, datetime.date) and not isinstance(v, datetime.datetime):
        return v
    if isinstance(v, datetime.datetime):
        return v.date()
    return datetime.date.fromisoformat(v)      # the schema checked the format


def read_plan(path: str | Path) -> tuple[Plan, object]:
    """The inspection plan in `path`, checked on its own (schema, names, dates); every problem
    with its file:line. Returns (plan, locator)."""
    from ..standard.schema import check as schema_check
    from ..standard.yamlsafe import load_yaml
    path = Path(path)
    data, loc = load_yaml(path)
    issues = schema_check(data, "inspection", loc)
    if issues:
        raise InputError(issues)
    r = data["rules"]
    rules = Rules(int(r["former_unit_years"]), bool(r.get("same_street", False)),
                  bool(r.get("registered_only", True)), bool(r.get("assigned_only", False)))
    named: dict[str, tuple] = {}               # every id and alias -> where it was given
    found: dict[str, Inspector] = {}
    for i, d in enumerate(data["inspectors"]):
        for j, n in enumerate([d["id"]] + list(d.get("aliases") or [])):
            at = ["inspectors", i, "id"] if j == 0 else ["inspectors", i, "aliases", j - 1]
            if n in named:
                line = loc.where(named[n])[0]
                issues.append(loc.issue(at, f"核查人名称“{n}”重复（第 {line} 行已用作核查人或其别名）："
                                            "每个名称只能指向一位核查人"))
            else:
                named[n] = tuple(at)
        units_ = []
        for k, u in enumerate(d.get("units") or []):
            at = ["inspectors", i, "units", k]
            given = [kind for kind in UNIT_KINDS if kind in u]
            if len(given) != 1:
                issues.append(loc.issue(at, "每条所属单位须且只须写 organization（组织编号）、street（'区县/街道'）"
                                            f"或 district（区县）之一，此处写了 {len(given)} 个"
                                            + (f"：{', '.join(given)}" if given else "")))
                continue
            start, end = _day(u.get("from")), _day(u.get("to"))
            if start and end and end < start:
                issues.append(loc.issue(at + ["to"], f"离开日期{date_text(end)}早于进入日期{date_text(start)}"))
                continue
            units_.append(Membership(given[0], u[given[0]].strip(), start, end))
        found[d["id"]] = Inspector(d["id"], d.get("name") or d["id"], tuple(d.get("aliases") or ()), tuple(units_))
    teams: dict[str, Team] = {}
    taken: dict[str, str] = {}                 # organization -> the team that lists it
    for i, t in enumerate(data["teams"]):
        if t["id"] in teams:
            issues.append(loc.issue(["teams", i, "id"], f"考核组编号“{t['id']}”重复"))
            continue
        members_: list[str] = []
        for j, m in enumerate(t["members"]):
            if m not in found:
                issues.append(loc.issue(["teams", i, "members", j], f"考核组 {t['id']} 的成员“{m}”不是已登记的核查人"
                                        + _hint(m, found) + "：请先在 inspectors 中登记（别名不能用作成员）"))
            elif m in members_:
                issues.append(loc.issue(["teams", i, "members", j], f"考核组 {t['id']} 的成员“{m}”重复"))
            else:
                members_.append(m)
        leader = t.get("leader")
        if leader is not None and leader not in t["members"]:
            issues.append(loc.issue(["teams", i, "leader"], f"考核组 {t['id']} 的组长“{leader}”不在其成员（members）中"))
        orgs: list[str] = []
        for j, o in enumerate(t.get("organizations") or []):
            if o in taken:
                issues.append(loc.issue(["teams", i, "organizations", j],
                                        f"组织 {o} 已分派给考核组 {taken[o]}：一个组织在一轮中只由一个考核组核查"))
            else:
                taken[o] = t["id"]
                orgs.append(o)
        teams[t["id"]] = Team(t["id"], t.get("name") or t["id"], leader, tuple(members_), tuple(orgs))
    if issues:
        raise InputError(sorted(set(issues), key=lambda x: (x.line, x.col, x.message)))
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return Plan(data["round"], rules, found, teams, str(path), digest, data.get("title") or ""), loc


def plan_of(conn, round_id: str) -> Plan | None:
    """The round's stored inspection plan, None if none was loaded."""
    row = conn.execute(select(inspection_plans).where(inspection_plans.c.round == round_id)).mappings().first()
    if row is None:
        return None
    r = json.loads(row["rules"])
    rules = Rules(r["former_unit_years"], r["same_street"], r["registered_only"], r["assigned_only"])
    mem: dict[str, list[Membership]] = {}
    for u in conn.execute(select(inspector_units).where(inspector_units.c.round == round_id)
                          .order_by(inspector_units.c.id)).mappings():
        mem.setdefault(u["inspector"], []).append(Membership(u["kind"], u["code"], u["belonged_from"], u["belonged_to"]))
    found = {i.id: Inspector(i.id, i.name, tuple(json.loads(i.aliases)), tuple(mem.get(i.id, ())))
             for i in conn.execute(select(inspectors).where(inspectors.c.round == round_id).order_by(inspectors.c.id))}
    tm: dict[str, list[str]] = {}
    for m in conn.execute(select(team_members).where(team_members.c.round == round_id)
                          .order_by(team_members.c.team, team_members.c.inspector)):
        tm.setdefault(m.team, []).append(m.inspector)
    teams = {t.id: Team(t.id, t.name, t.leader, tuple(tm.get(t.id, ())))
             for t in conn.execute(select(inspection_teams).where(inspection_teams.c.round == round_id)
                                   .order_by(inspection_teams.c.id))}
    return Plan(round_id, rules, found, teams, row["source"], row["digest"])


def _require_plan(conn, round_id: str) -> Plan:
    plan = plan_of(conn, round_id)
    if plan is None:
        raise Refused(round_id, f"轮次 {round_id} 尚未载入核查安排（考核组、核查人与回避规则）：请先载入其 inspection YAML")
    return plan


def _known_codes(conn, kind: str) -> set[str]:
    return {r.code for r in conn.execute(select(units.c.code).where(units.c.kind == kind).distinct())}


@dataclass
class PlanReport:
    round: str
    inspectors: int
    teams: int
    replaced: bool
    assigned: int = 0


def load_plan(store: Store, path: str | Path, by: str, on: datetime.date | None = None) -> PlanReport:
    """Load (or replace) a round's inspection plan from its YAML file. The units it names must
    be in the store's registry; organizations the teams list are assigned to them, refusing
    conflicts of interest as of `on` (default today), and so are the round's assignments
    already made, checked again under the new plan. All or nothing."""
    plan, loc = read_plan(path)
    on = on or datetime.date.today()
    with store.change(by) as tx:
        conn = tx.conn
        get_round(conn, plan.round)
        require_open(tx, plan.round, "载入或更改核查安排")
        issues = []
        known = {k: _known_codes(conn, k) for k in UNIT_KINDS}
        raw_units = {}                          # (inspector, index in plan) -> yaml path, for messages
        for n, insp in enumerate(plan.inspectors.values()):
            for k, m in enumerate(insp.units):
                raw_units[(insp.id, k)] = ["inspectors", n, "units", k, m.kind]
                if m.code not in known[m.kind]:
                    what = {"organization": "组织", "street": "街道", "district": "区县"}[m.kind]
                    issues.append(loc.issue(raw_units[(insp.id, k)],
                                            f"核查人 {insp.shown()} 的所属{what}“{m.code}”不在登记册中" + _hint(m.code, known[m.kind])
                                            + "（与本库各轮次无关的单位无需列出）"))
        member_ids = {o.id for o in round_members(conn, plan.round)}
        for i, t in enumerate(plan.teams.values()):
            for j, o in enumerate(t.organizations):
                if o not in member_ids:
                    issues.append(loc.issue(["teams", i, "organizations", j], f"组织 {o} 不是轮次 {plan.round} 的参评组织"
                                            + _hint(o, member_ids)))
        have = dict(_assigned(conn, plan.round))
        for tid in sorted(set(have.values()) - set(plan.teams)):
            orgs = sorted(o for o, t in have.items() if t == tid)
            issues.append(loc.issue(["teams"], f"已分派组织的考核组 {tid} 不在新的核查安排中（已分派：{_few(orgs)}）："
                                               "请保留该组，或先将这些组织改派给其他考核组"))
        if issues:
            raise InputError(issues)
        old = plan_of(conn, plan.round)
        # the plan's own declarations win over earlier assignments of the same organizations
        wanted = dict(have)
        for t in plan.teams.values():
            wanted.update({o: t.id for o in t.organizations})
        orgs = _organizations(conn, plan.round)
        found = [c for o, tid in sorted(wanted.items()) for c in _team_clashes(plan, plan.teams[tid], orgs[o], on, orgs)]
        if found:
            raise ConflictOfInterest(plan.round, found)
        _replace_plan(tx, plan, by)
        tx.log.append("inspection.plan", "inspection_plan", plan.round, old.as_json() if old else None, plan.as_json(),
                      source=Path(plan.source).name, digest=plan.digest, inspectors=len(plan.inspectors),
                      teams=len(plan.teams))
        changed = _set_assignments(tx, plan.round, {o: t for o, t in wanted.items() if have.get(o) != t}, have, by)
    return PlanReport(plan.round, len(plan.inspectors), len(plan.teams), old is not None, changed)


def _replace_plan(tx: Tx, plan: Plan, by: str) -> None:
    c, rid = tx.conn, plan.round
    c.execute(delete(team_members).where(team_members.c.round == rid))
    c.execute(delete(inspector_units).where(inspector_units.c.round == rid))
    c.execute(delete(inspectors).where(inspectors.c.round == rid))
    old_teams = {t.id for t in c.execute(select(inspection_teams.c.id).where(inspection_teams.c.round == rid))}
    gone = old_teams - set(plan.teams)
    if gone:                                   # none is assigned (checked by the caller)
        c.execute(delete(inspection_teams).where(and_(inspection_teams.c.round == rid, inspection_teams.c.id.in_(gone))))
    for t in plan.teams.values():
        if t.id in old_teams:
            c.execute(update(inspection_teams).where(and_(inspection_teams.c.round == rid, inspection_teams.c.id == t.id))
                      .values(name=t.name, leader=t.leader))
        else:
            c.execute(insert(inspection_teams).values(round=rid, id=t.id, name=t.name, leader=t.leader))
    c.execute(insert(inspectors), [{"round": rid, "id": i.id, "name": i.name,
                                    "aliases": json.dumps(list(i.aliases), ensure_ascii=False)}
                                   for i in plan.inspectors.values()])
    rows = [{"round": rid, "inspector": i.id, "kind": m.kind, "code": m.code, "belonged_from": m.start,
             "belonged_to": m.end} for i in plan.inspectors.values() for m in i.units]
    if rows:
        c.execute(insert(inspector_units), rows)
    rows = [{"round": rid, "team": t.id, "inspector": m} for t in plan.teams.values() for m in t.members]
    c.execute(insert(team_members), rows)
    values = {"rules": json.dumps(plan.rules.as_json()), "source": Path(plan.source).name, "digest": plan.digest,
              "loaded_at": now(), "loaded_by": by}
    if c.execute(select(inspection_plans.c.round).where(inspection_plans.c.round == rid)).first():
        c.execute(update(inspection_plans).where(inspection_plans.c.round == rid).values(**values))
    else:
        c.execute(insert(inspection_plans).values(round=rid, **values))


# ------------------------------------------------------------------ conflicts of interest

def add_years(day: datetime.date, years: int) -> datetime.date:
    """The same date `years` later; 28 February for a 29 February (民法典 第二百零三条: no
    corresponding day, the month's last day)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Clash:
    """One conflict of interest: `inspector` may not verify `organization` on `on`."""
    rule: str                          # a key of RULE_ZH
    inspector: Inspector
    organization: Organization
    unit: Membership | None
    on: datetime.date
    until: datetime.date | None = None  # the last day of a former unit's cooling-off period
    how: str = ""                      # is | parent | street | district | same_street
    years: int = 0
    unit_name: str = ""

    def message(self) -> str:
        o = self.organization
        org = f"{o.name}（{o.id}）"
        rule = RULE_ZH[self.rule] + (f"（{self.years} 年内）" if self.rule == "former_unit" else "")
        if self.unit is None:
            return f"核查人 {self.inspector.shown()} 不得核查 {org}：{self.how}【{rule}】"
        unit = self.unit_name or self.unit.code
        if self.until is None:
            belong = f"现属 {unit}（{self.unit.span()}）"
        else:
            belong = f"曾属 {unit}（{self.unit.span()}），离开未满 {self.years} 年（回避期至{date_text(self.until)}）"
        reason = {"is": f"不得核查该单位{org}",
                  "parent": f"{org}隶属该单位，不得核查",
                  "street": f"{org}在该街道，不得核查",
                  "district": f"{org}在该区县，不得核查",
                  "same_street": f"与{org}同在{o.district}{o.street}，不得核查同街道的组织"}[self.how]
        return f"核查人 {self.inspector.shown()} {belong}，{reason}（核查日期{date_text(self.on)}）【{rule}】"

    def as_json(self) -> dict:
        return {"rule": self.rule, "inspector": self.inspector.id, "organization": self.organization.id,
                "unit": [self.unit.kind, self.unit.code, self.unit.start, self.unit.end] if self.unit else None,
                "on": self.on, "until": self.until}


class ConflictOfInterest(Refused):
    """A refused assignment or verification: every conflict found, one issue each."""

    def __init__(self, where: str, clashes: list[Clash]):
        super().__init__(where, clashes[0].message())
        self.clashes = clashes
        self.issues = [Issue(f"{where}/{c.organization.id}", 0, 0, "$", c.message()) for c in clashes]
        self.args = ("\n".join(str(i) for i in self.issues),)


class _Organizations:
    """Organizations by id, looked up when first asked for and kept: the round's member
    version, else the registry's latest (an inspector's unit need not be in this round).
    A check reads a handful (the organization, its parents, the inspector's units), not the
    whole registry."""

    def __init__(self, conn, round_id: str):
        self.conn, self.round = conn, round_id
        self._seen: dict[str, Organization | None] = {}

    def get(self, code: str, default=None) -> Organization | None:
        if code not in self._seen:
            row = self.conn.execute(select(units).join(members, members.c.unit == units.c.id)
                                    .where(and_(members.c.round == self.round, members.c.organization == code))
                                    ).mappings().first()
            if row is None:
                row = self.conn.execute(select(units).where(and_(units.c.kind == "organization", units.c.code == code))
                                        .order_by(units.c.id.desc()).limit(1)).mappings().first()
            self._seen[code] = organization_of(row) if row is not None else None
        found = self._seen[code]
        return default if found is None else found

    def __contains__(self, code: str) -> bool:
        return self.get(code) is not None

    def __getitem__(self, code: str) -> Organization:
        found = self.get(code)
        if found is None:
            raise KeyError(code)
        return found


def _organizations(conn, round_id: str) -> _Organizations:
    return _Organizations(conn, round_id)


def _unit_name(m: Membership, orgs: dict[str, Organization]) -> str:
    if m.kind == "organization":
        o = orgs.get(m.code)
        return f"{o.name}（{o.id}）" if o else m.code
    if m.kind == "street":
        d, _, s = m.code.partition("/")
        return f"{d}{s}"
    return m.code


def _covers(m: Membership, org: Organization, orgs: dict[str, Organization]) -> str | None:
    """How unit `m` contains `org`: is, parent (an ancestor organization), street, district."""
    if m.kind == "organization":
        if m.code == org.id:
            return "is"
        seen, p = {org.id}, org.parent
        while p and p not in seen:
            if p == m.code:
                return "parent"
            seen.add(p)
            p = orgs[p].parent if p in orgs else ""
        return None
    if m.kind == "street":
        return "street" if org.street and m.code == f"{org.district}/{org.street}" else None
    return "district" if org.district and m.code == org.district else None


def clashes(plan: Plan, insp: Inspector, org: Organization, on: datetime.date,
            orgs: dict[str, Organization]) -> list[Clash]:
    """Every conflict of interest of `insp` verifying `org` on day `on` under `plan`'s rules."""
    out = []
    years = plan.rules.former_unit_years
    for m in insp.units:
        if m.start is not None and m.start > on:
            continue                            # not there yet on that day
        if m.end is None or m.end >= on:
            rule, until = "own_unit", None
        elif years and on <= add_years(m.end, years):
            rule, until = "former_unit", add_years(m.end, years)
        else:
            continue
        how = _covers(m, org, orgs)
        if how is None and plan.rules.same_street and m.kind == "organization" and org.street:
            u = orgs.get(m.code)
            if u is not None and (u.district, u.street) == (org.district, org.street):
                rule, how = "same_street", "same_street"
        if how is not None:
            out.append(Clash(rule, insp, org, m, on, until, how, years, _unit_name(m, orgs)))
    return out


def _team_clashes(plan: Plan, team: Team, org: Organization, on, orgs) -> list[Clash]:
    return [c for m in team.members for c in clashes(plan, plan.inspectors[m], org, on, orgs)]


def _as_day(on_date) -> datetime.date:
    if on_date is None:
        return datetime.date.today()
    if isinstance(on_date, datetime.datetime):
        return on_date.date()
    if isinstance(on_date, str):
        return datetime.date.fromisoformat(on_date)
    return on_date


def check_verifier(conn, round_id: str, organization: str, inspector: str, on_date) -> None:
    """Refuse (Refused / ConflictOfInterest) a verified value `inspector` gives for
    `organization` on `on_date` (a date; None: today) that the round's inspection plan does
    not allow. A round without a plan declares no rules: nothing is refused."""
    verifier(conn, round_id)(organization, inspector, on_date)


def verifier(conn, round_id: str):
    """check(organization, inspector, on_date) for many values of one round (a bulk import):
    `check_verifier` with the plan read once and the organizations looked up once each."""
    plan = plan_of(conn, round_id)
    if plan is None:
        return lambda organization, inspector, on_date: None
    orgs = _organizations(conn, round_id)
    names = sorted(set(plan.inspectors) | {a for i in plan.inspectors.values() for a in i.aliases})
    assigned: dict[str, str] | None = None

    def check(organization: str, inspector: str, on_date) -> None:
        nonlocal assigned
        where = f"{round_id}/{organization}"
        on = _as_day(on_date)
        insp = plan.find(inspector)
        if insp is None:
            if plan.rules.registered_only:
                raise Refused(where, f"核查人“{inspector}”未在轮次 {round_id} 的核查安排中登记" + _hint(inspector, names)
                                     + f"，不能提交 {organization} 的核查值【{RULE_ZH['unregistered']}】")
            return
        org = orgs.get(organization)
        if org is None:
            raise Refused(where, f"组织 {organization} 不在登记册中，不能提交其核查值")
        found = clashes(plan, insp, org, on, orgs)
        if plan.rules.assigned_only:
            if assigned is None:
                assigned = assignments_of(conn, round_id)
            team = assigned.get(organization)
            if team is not None and insp.id not in plan.teams[team].members:
                found.append(Clash("not_assigned", insp, org, None, on,
                                   how=f"{org.name}（{org.id}）分派给考核组 {plan.teams[team].shown()}，"
                                       f"核查人不是该组成员"))
        if found:
            raise ConflictOfInterest(round_id, found)
    return check


# ------------------------------------------------------------------ assignments

def _assigned(conn, round_id: str, orgs: list[str] | None = None):
    q = select(assignments.c.organization, assignments.c.team).where(assignments.c.round == round_id)
    if orgs is not None:
        q = q.where(assignments.c.organization.in_(orgs))
    return [(r.organization, r.team) for r in conn.execute(q.order_by(assignments.c.organization))]


def assignments_of(conn, round_id: str) -> dict[str, str]:
    """{organization: team id} of the round."""
    return dict(_assigned(conn, round_id))


def _few(items: list[str], n: int = 10) -> str:
    return "、".join(items[:n]) + (f" 等 {len(items)} 个" if len(items) > n else "")


def _set_assignments(tx: Tx, round_id: str, new: dict[str, str], have: dict[str, str], by: str) -> int:
    at = now()
    fresh = [{"round": round_id, "organization": o, "team": t, "assigned_at": at, "assigned_by": by}
             for o, t in sorted(new.items()) if o not in have]
    if fresh:
        tx.conn.execute(insert(assignments), fresh)
    for o, t in sorted(new.items()):
        if o in have:
            tx.conn.execute(update(assignments).where(and_(assignments.c.round == round_id,
                                                           assignments.c.organization == o))
                            .values(team=t, assigned_at=at, assigned_by=by))
    tx.log.extend([("inspection.assign", "assignment", f"{round_id}/{o}",
                    {"team": have[o]} if o in have else None, {"team": t}, {}) for o, t in sorted(new.items())])
    return len(new)


@dataclass
class AssignReport:
    round: str
    team: str
    added: list[str] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)     # organization -> the team it left
    unchanged: list[str] = field(default_factory=list)


def assign(store: Store, round_id: str, team: str, org_ids, by: str, on: datetime.date | None = None,
           move: bool = False) -> AssignReport:
    """Assign organizations to a team for the round. Refused, with nothing written: an unknown
    team or organization; an organization assigned to another team (unless `move`); any
    conflict of interest of any member of the team as of `on` (default today), each named
    (inspector, unit, rule, dates)."""
    on = on or datetime.date.today()
    report = AssignReport(round_id, team)
    with store.change(by) as tx:
        conn = tx.conn
        require_open(tx, round_id, "分派核查任务")
        plan = _require_plan(conn, round_id)
        t = plan.teams.get(team)
        if t is None:
            raise Refused(round_id, f"轮次 {round_id} 没有考核组“{team}”" + _hint(team, plan.teams)
                                    + f"（考核组：{'、'.join(plan.teams)}）")
        wanted = list(dict.fromkeys(org_ids))
        if not wanted:
            raise Refused(round_id, f"没有给出要分派给考核组 {t.shown()} 的组织")
        members_ = {o.id: o for o in round_members(conn, round_id)}
        unknown = [o for o in wanted if o not in members_]
        if unknown:
            raise Refused(round_id, f"{_few(unknown)} 不是轮次 {round_id} 的参评组织"
                                    + (_hint(unknown[0], members_) if len(unknown) == 1 else ""))
        have = dict(_assigned(conn, round_id, wanted))
        elsewhere = {o: have[o] for o in wanted if o in have and have[o] != team}
        if elsewhere and not move:
            shown = "、".join(f"{o}（{plan.teams[x].shown() if x in plan.teams else x}）" for o, x in elsewhere.items())
            raise Refused(round_id, f"{shown}已分派给其他考核组：如需改派，请明确要求改派（--move）")
        orgs = _organizations(conn, round_id)
        found = [c for o in wanted for c in _team_clashes(plan, t, orgs[o], on, orgs)]
        if found:
            raise ConflictOfInterest(round_id, found)
        report.unchanged = [o for o in wanted if have.get(o) == team]
        report.added = [o for o in wanted if o not in have]
        report.moved = elsewhere
        _set_assignments(tx, round_id, {o: team for o in wanted if have.get(o) != team}, have, by)
    return report


# ------------------------------------------------------------------ spot-check samples

def _rate(rate) -> Decimal:
    text = str(rate).strip()
    try:
        d = Decimal(text[:-1].strip()) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite() or not (0 < d <= 1) or isinstance(rate, bool):
        raise Refused("--rate", f"抽样比例应大于 0、不超过 1（如 0.1 或 10%），而不是 {rate!r}")
    return d.normalize()


def _seed(seed) -> int:
    if seed is None:
        return secrets.randbelow(10 ** 12)     # twelve digits: easy to write down and type again
    if isinstance(seed, bool) or not ((isinstance(seed, int) and seed >= 0)
                                      or (isinstance(seed, str) and seed.strip().isascii() and seed.strip().isdigit())):
        raise Refused("--seed", f"随机种子应为非负整数，而不是 {seed!r}")
    return int(seed)


def stratum_of(o: Organization, strata: tuple[str, ...]) -> tuple[str, ...]:
    return tuple({"district": o.district, "street": f"{o.district}/{o.street}", "type": o.type}[s] for s in strata)


def stratum_label(values, strata) -> str:
    shown = []
    for s, v in zip(strata, values):
        if s == "street":
            d, _, st = v.partition("/")
            v = f"{d}{st}" if st else "（未填街道）"
        elif s == "type":
            v = ORG_TYPES.get(v, v)
        shown.append(v or "（未填）")
    return " / ".join(shown) or "全部"


def stratum_size(n: int, rate: Decimal) -> int:
    """How many of a stratum of `n` organizations are drawn (ROUNDING_ZH)."""
    return min(n, max(1, int((rate * n).to_integral_value(rounding=ROUND_HALF_UP))))


def draw(orgs: list[Organization], rate: Decimal, strata: tuple[str, ...], seed: int):
    """[(organization id, stratum, stratum size, drawn in stratum)], by stratum then id. Only
    Random.random() is used (its sequence is guaranteed across Python versions): each member
    of a stratum, by id, gets the next number; the smallest numbers are drawn."""
    rng = Random(seed)
    groups: dict[tuple, list[str]] = {}
    for o in sorted(orgs, key=lambda o: o.id):
        groups.setdefault(stratum_of(o, strata), []).append(o.id)
    out = []
    for key in sorted(groups):
        ids = groups[key]
        k = stratum_size(len(ids), rate)
        keyed = sorted((rng.random(), oid) for oid in ids)
        for oid in sorted(oid for _, oid in keyed[:k]):
            out.append((oid, key, len(ids), k))
    return out


def _population_digest(orgs: list[Organization], strata) -> str:
    body = sorted([o.id, list(stratum_of(o, strata))] for o in orgs)
    return "sha256:" + hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Sample:
    id: int
    round: str
    seed: int
    rate: Decimal
    strata: tuple[str, ...]
    rounding: str
    population: int
    drawn_at: datetime.datetime
    drawn_by: str
    population_digest: str
    rows: list[tuple[str, tuple, int, int]]    # (organization, stratum, stratum size, drawn in it)

    @property
    def organizations(self) -> list[str]:
        return [r[0] for r in self.rows]

    def per_stratum(self) -> list[tuple[tuple, int, int]]:
        """(stratum, size, drawn) of every non-empty stratum, in order."""
        return list(dict.fromkeys((r[1], r[2], r[3]) for r in self.rows))


def sample(store: Store, round_id: str, rate, by: str, seed=None,
           strata=("district", "street", "type")) -> Sample:
    """Draw and store a stratified spot-check sample of the round's organizations (see the
    module's docstring for the rule). `seed` (a non-negative integer) is recorded; None draws
    one. The same seed over the same members gives the same list."""
    strata = tuple(strata)
    bad = [s for s in strata if s not in STRATA]
    if bad or len(set(strata)) != len(strata):
        raise Refused("--strata", f"分层只能是 {', '.join(STRATA)}（各一次），而不是 {', '.join(strata)}")
    r, seed = _rate(rate), _seed(seed)
    with store.change(by) as tx:
        require_open(tx, round_id, "抽取抽查样本")
        orgs = round_members(tx.conn, round_id)
        if not orgs:
            raise Refused(round_id, f"轮次 {round_id} 没有参评组织，无从抽样")
        rows = draw(orgs, r, strata, seed)
        at = now()
        digest = _population_digest(orgs, strata)
        sid = tx.conn.execute(insert(samples).values(
            round=round_id, seed=str(seed), rate=str(r), strata=json.dumps(list(strata)), rounding=ROUNDING_ZH,
            population=len(orgs), size=len(rows), population_digest=digest, drawn_at=at, drawn_by=by)
        ).inserted_primary_key[0]
        tx.conn.execute(insert(sample_members), [
            {"sample": sid, "seq": i, "organization": oid, "stratum": json.dumps(list(key), ensure_ascii=False),
             "stratum_size": n, "stratum_drawn": k} for i, (oid, key, n, k) in enumerate(rows)])
        tx.log.append("inspection.sample", "sample", f"{round_id}/{sid}", None,
                      {"seed": seed, "rate": str(r), "strata": list(strata), "organizations": [x[0] for x in rows]},
                      population=len(orgs), size=len(rows), population_digest=digest)
    return Sample(sid, round_id, seed, r, strata, ROUNDING_ZH, len(orgs), at, by, digest, rows)


def get_sample(conn, round_id: str, sample_id: int | None = None) -> Sample:
    """A stored sample of the round (the latest when `sample_id` is None)."""
    q = select(samples).where(samples.c.round == round_id)
    q = q.where(samples.c.id == sample_id) if sample_id is not None else q.order_by(samples.c.id.desc()).limit(1)
    s = conn.execute(q).mappings().first()
    if s is None:
        get_round(conn, round_id)
        raise Refused(round_id, f"轮次 {round_id} 没有编号为 {sample_id} 的抽查样本" if sample_id is not None
                      else f"轮次 {round_id} 尚未抽取抽查样本")
    rows = [(m.organization, tuple(json.loads(m.stratum)), m.stratum_size, m.stratum_drawn)
            for m in conn.execute(select(sample_members).where(sample_members.c.sample == s["id"])
                                  .order_by(sample_members.c.seq))]
    return Sample(s["id"], round_id, int(s["seed"]), Decimal(s["rate"]), tuple(json.loads(s["strata"])), s["rounding"],
                  s["population"], s["drawn_at"], s["drawn_by"], s["population_digest"], rows)


def redraw(conn, round_id: str, sample_id: int | None = None) -> tuple[Sample, bool, bool]:
    """Draw a stored sample again from its recorded seed over the round's members now:
    (sample, same members as then, same list)."""
    s = get_sample(conn, round_id, sample_id)
    orgs = round_members(conn, round_id)
    again = draw(orgs, s.rate, s.strata, s.seed)
    return s, _population_digest(orgs, s.strata) == s.population_digest, again == s.rows


def sample_tables(conn, round_id: str, sample_id: int | None = None):
    """The sampled list and the draw's record as report tables (Chinese headers)."""
    from ..reports.tables import Table
    s = get_sample(conn, round_id, sample_id)
    orgs = {o.id: o for o in round_members(conn, round_id)}
    plan = plan_of(conn, round_id)
    teams = assignments_of(conn, round_id)
    cols = [("seq", "序号", "num"), ("id", "组织编号", "text"), ("name", "组织名称", "text"), ("type", "领域", "text"),
            ("district", "区县", "text"), ("street", "街道（乡镇）", "text"), ("responsible", "负责人", "text"),
            ("stratum", "抽样分层", "text"), ("size", "层内组织数", "num"), ("drawn", "层内抽取数", "num"),
            ("team", "考核组", "text")]
    rows = []
    for i, (oid, key, n, k) in enumerate(s.rows, start=1):
        o = orgs.get(oid) or Organization(oid, "（已不在本轮）", "")
        t = teams.get(oid)
        rows.append({"seq": i, "id": oid, "name": o.name, "type": ORG_TYPES.get(o.type, o.type), "district": o.district,
                     "street": o.street, "responsible": o.responsible, "stratum": stratum_label(key, s.strata),
                     "size": n, "drawn": k,
                     "team": (plan.teams[t].shown() if plan and t in plan.teams else t) or "（未分派）"})
    about = [("key", "项目", "text"), ("value", "内容", "text")]
    info = [("轮次", round_id), ("样本编号", str(s.id)), ("随机种子", str(s.seed)),
            ("抽样比例", f"{s.rate}（{(s.rate * 100).normalize():f}%）"),
            ("分层", " / ".join(STRATUM_ZH[x] for x in s.strata) or "不分层"), ("取整规则", s.rounding),
            ("参评组织数", str(s.population)), ("样本数", str(len(s.rows))), ("层数", str(len(s.per_stratum()))),
            ("抽取时间（UTC）", s.drawn_at.strftime("%Y-%m-%d %H:%M:%S")), ("抽取人", s.drawn_by),
            ("参评组织名单摘要", s.population_digest),
            ("复现方法", "同一随机种子、同一参评名单重新抽取，结果相同（按组织编号排序，逐层依次取随机数，取最小者）")]
    return s, Table("抽查名单", cols, rows), Table("抽样说明", about, [{"key": k, "value": v} for k, v in info])


def export_sample(conn, round_id: str, out: str | Path, sample_id: int | None = None) -> Path:
    """Write the sampled list for the teams: .csv (UTF-8 with BOM, the list) or .xlsx (the
    list and the draw's record); the same sample gives the same bytes."""
    from ..reports.tables import to_csv, to_xlsx
    out = Path(out)
    s, listing, record = sample_tables(conn, round_id, sample_id)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        data = to_csv(listing)
    elif suffix == ".xlsx":
        data = to_xlsx([listing, record], title=f"{round_id} 抽查名单（样本 {s.id}）", author=s.drawn_by,
                       when=s.drawn_at.date())
    else:
        raise Refused(str(out), f"抽查名单只能导出为 .csv 或 .xlsx，而不是“{out.suffix or out.name}”")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


# ------------------------------------------------------------------ discrepancies

DISCREPANCY_KINDS = ("self_report_mismatch", "verified_blank")


@dataclass(frozen=True)
class Discrepancy:
    organization: str
    name: str
    field: str
    label: str
    kind: str                      # self_report_mismatch | verified_blank
    message: str
    self_value: object
    verified_value: object
    inspector: str                 # as the plan names them (an alias resolved), else as evidence gives it
    verified_on: str | None
    team: str | None


@dataclass
class InspectorSummary:
    inspector: str
    team: str | None
    verified_fields: int = 0
    organizations: set = field(default_factory=set)
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def share(self) -> Decimal:
        """Discrepancies per verified field (0 when none was verified)."""
        return (Decimal(len(self.discrepancies)) / self.verified_fields).quantize(Decimal("0.001")) \
            if self.verified_fields else Decimal(0)


@dataclass
class Discrepancies:
    round: str
    items: list[Discrepancy]
    inspectors: dict[str, InspectorSummary]
    organizations: int                      # organizations with evidence looked at

    def by_organization(self) -> dict[str, list[Discrepancy]]:
        out: dict[str, list[Discrepancy]] = {}
        for d in self.items:
            out.setdefault(d.organization, []).append(d)
        return out

    def by_inspector(self) -> dict[str, list[Discrepancy]]:
        out: dict[str, list[Discrepancy]] = {}
        for d in self.items:
            out.setdefault(d.inspector, []).append(d)
        return out

    def lines(self) -> list[str]:
        """The listing as printed: per organization, then per inspector."""
        out = [f"轮次 {self.round}：自评与核查差异 {len(self.items)} 项，涉及 {len(self.by_organization())} 个组织"]
        for oid, ds in self.by_organization().items():
            out.append(f"{ds[0].name}（{oid}）" + (f"  考核组 {ds[0].team}" if ds[0].team else ""))
            out += [f"  - [{FINDING_ZH[d.kind]}] {d.message}（核查人 {d.inspector}"
                    + (f"，{date_text(d.verified_on)}" if d.verified_on else "") + "）" for d in ds]
        out.append("按核查人：")
        for s in sorted(self.inspectors.values(), key=lambda s: (-len(s.discrepancies), s.inspector)):
            out.append(f"  {s.inspector}" + (f"（{s.team}）" if s.team else "") +
                       f"：核查 {len(s.organizations)} 个组织 {s.verified_fields} 项，差异 {len(s.discrepancies)} 项")
        return out


def discrepancies(conn, round_id: str) -> Discrepancies:
    """Self-reported vs verified differences (the resolved evidence's findings: a gap beyond
    the field's tolerance, a verified value left blank) per organization and per inspector,
    with how many fields each inspector verified."""
    from ..intake.evidence import resolve
    from .evidence import by_organization, to_raw
    from .rounds import open_round
    plan = plan_of(conn, round_id)
    teams = assignments_of(conn, round_id)
    team_of_insp = {}
    if plan:
        for t in plan.teams.values():
            for m in t.members:
                team_of_insp.setdefault(m, t.shown())
    members_ = {o.id: o for o in round_members(conn, round_id)}
    items: list[Discrepancy] = []
    summaries: dict[str, InspectorSummary] = {}
    looked = 0
    with open_round(conn, round_id) as m:
        standards = m.round.standards
        for oid, subs in by_organization(conn, round_id):
            org = members_.get(oid)
            if org is None or org.type not in standards:
                continue
            looked += 1
            std = standards[org.type]
            ev, _ = resolve(to_raw(oid, subs), oid, std)
            for fid, prov in ev.provenance.items():
                if prov.get("source") != "verified":
                    continue
                who = _who(plan, prov.get("inspector"))
                s = summaries.setdefault(who, InspectorSummary(who, team_of_insp.get(who)))
                s.verified_fields += 1
                s.organizations.add(oid)
            for f in ev.findings:
                if f.kind not in DISCREPANCY_KINDS:
                    continue
                prov = ev.provenance.get(f.field, {})
                who = _who(plan, prov.get("inspector"))
                t = teams.get(oid)
                d = Discrepancy(oid, org.name, f.field, std.fields[f.field].label if f.field in std.fields else f.field,
                                f.kind, f.message, f.self_value, f.verified_value, who, prov.get("verified_on"),
                                (plan.teams[t].shown() if plan and t in plan.teams else t))
                items.append(d)
                summaries.setdefault(who, InspectorSummary(who, team_of_insp.get(who))).discrepancies.append(d)
    return Discrepancies(round_id, items, dict(sorted(summaries.items())), looked)


def _who(plan: Plan | None, name: str | None) -> str:
    if not name:
        return "（未署名）"
    insp = plan.find(name) if plan else None
    return insp.id if insp else name
