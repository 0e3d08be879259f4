"""`agrade demo`: generate a realistic district round (示例区) that `agrade evaluate` accepts.

    generate(out_dir, n_orgs=2000, seed=2026) -> out_dir/round.yaml

writes `round.yaml`, `organizations.csv`, `evidence/values.csv`, `evidence/records.csv` and
about twenty per-organization YAML files (`evidence/orgs/<id>.yaml`) showing the
`{self, verified, inspector, verified_on}` form. Every organization's evidence lives in
exactly one place (its YAML file or the bulk CSVs), so nothing is given twice.

Values are driven by the standards themselves (see `planner`), never by hard-coded field
ids: each organization has a latent quality (good / average / weak) that sets how likely
each criterion is to pass, so the district spreads over the tiers. The same seed gives
byte-identical files: one `random.Random` per purpose and organization, sorted iteration,
no clock.
"""
from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import Mapping

from .. import resources
from ..terms import ORG_TYPES
from ..model import Organization, Standard
from ..standard.loader import available_standards, load_standard
from .names import DISTRICT, person_name, STREETS, TOWNS, Org, registry
from .planner import OrgPlanner, Profile
from .render import csv_rows, entries, visit_for, yaml_document

PERIOD_FROM = "2026-01-01"
PERIOD_TO = "2026-12-31"
ROUND_TITLE = "示例区2026年度基层党组织“创A”定档考评"
ISSUER = "中共示例区委组织部"

# latent quality: (share, low, high) per class; the type shifts the shares a little
_QUALITY = {"good": (0.22, 0.92, 0.995), "average": (0.52, 0.72, 0.88), "weak": (0.26, 0.45, 0.72)}
_TYPE_SHIFT = {"agency": 0.05, "soe": 0.04, "community": 0.0, "village": -0.03, "nonpublic": -0.06}
_VETO_P = {"good": 0.002, "average": 0.01, "weak": 0.045}
_INCOMPLETE_P = 0.01


def generate(out_dir: Path, n_orgs: int = 2000, seed: int = 2026,
             standards: Mapping[str, str | Path] | None = None) -> Path:
    """Write the demo round into `out_dir`; returns the path of round.yaml.

    `standards` maps an organization type to a standard id or file (default: the shipped
    standard of the same name, else `general`)."""
    import datetime as dt
    out_dir = Path(out_dir)
    period = (dt.date.fromisoformat(PERIOD_FROM), dt.date.fromisoformat(PERIOD_TO))
    orgs = registry(max(1, int(n_orgs)), random.Random(f"agrade-demo:{seed}:registry"))
    types = [t for t in ORG_TYPES if any(o.type == t for o in orgs)]
    refs, stds = _standards(types, standards)
    profiles = {ref: Profile(std, period) for ref, std in {refs[t]: stds[t] for t in types}.items()}

    streets = list(STREETS + TOWNS)
    values_rows: list[list[str]] = []
    records_rows: list[list[str]] = []
    yaml_docs: dict[str, str] = {}
    plans = []
    for o in orgs:
        rng = random.Random(f"agrade-demo:{seed}:org:{o.id}")
        cls = _quality_class(o, rng)
        lo, hi = _QUALITY[cls][1:]
        q = rng.uniform(lo, hi)
        plans.append((o, cls, q, rng))
    _force_some(plans, n_orgs, seed)
    n_yaml = min(20, max(1, len(orgs) // 10))
    yaml_every = max(1, len(orgs) // n_yaml)
    for i, (o, cls, q, rng) in enumerate(plans):
        prof = profiles[refs[o.type]]
        org = Organization(o.id, o.name, o.type, DISTRICT, o.street, o.parent)
        veto = None
        if prof.vetoes and (getattr(o, "force_veto", False) or rng.random() < _VETO_P[cls]):
            veto = rng.choice(prof.vetoes)
        values = OrgPlanner(prof, org, o.size, q, rng).plan(veto)
        incomplete = getattr(o, "incomplete", False)
        visit = None if incomplete or rng.random() >= 0.5 else visit_for(o.street, streets, rng)
        ents = entries(prof, org, values, rng, visit, incomplete)
        if visit is not None and len(yaml_docs) < n_yaml and i >= len(yaml_docs) * yaml_every:
            yaml_docs[o.id] = yaml_document(org, ents, visit, rng)
        else:
            csv_rows(o.id, ents, visit, rng, values_rows, records_rows)

    waivers = _waivers(plans, refs, stds, random.Random(f"agrade-demo:{seed}:waivers"))
    out_dir.mkdir(parents=True, exist_ok=True)
    ev = out_dir / "evidence"
    _clear(ev)
    (ev / "orgs").mkdir(parents=True, exist_ok=True)
    secretaries = random.Random(f"agrade-demo:{seed}:secretaries")     # its own stream: other output unchanged
    _write_csv(out_dir / "organizations.csv", ["编号", "名称", "类型", "区县", "街道", "上级", "书记"],
               [[o.id, o.name, ORG_TYPES[o.type], DISTRICT, o.street, o.parent, person_name(secretaries)] for o in orgs])
    _write_csv(ev / "values.csv", ["organization", "field", "self", "verified", "inspector", "verified_on"], values_rows)
    _write_csv(ev / "records.csv", ["organization", "field", "date", "title", "source", "inspector", "verified_on"],
               records_rows)
    for oid, text in sorted(yaml_docs.items()):
        (ev / "orgs" / f"{oid}.yaml").write_text(text, encoding="utf-8", newline="\n")
    path = out_dir / "round.yaml"
    path.write_text(_round_yaml(len(orgs), seed, types, refs, stds, waivers), encoding="utf-8", newline="\n")
    return path


def _quality_class(o: Org, rng: random.Random) -> str:
    shift = _TYPE_SHIFT.get(o.type, 0.0)
    good = _QUALITY["good"][0] + shift
    weak = _QUALITY["weak"][0] - shift
    r = rng.random()
    return "good" if r < good else ("weak" if r >= 1 - weak else "average")


def _force_some(plans, n_orgs: int, seed: int):
    """Mark the organizations that file incomplete evidence (not graded) and make sure a
    demo of any size shows at least one veto hit and, from 50 organizations, one
    incomplete filing."""
    pick = random.Random(f"agrade-demo:{seed}:special")
    for o, cls, q, rng in plans:
        if pick.random() < _INCOMPLETE_P:
            o.incomplete = True
    if n_orgs >= 50 and not any(getattr(p[0], "incomplete", False) for p in plans):
        plans[pick.randrange(len(plans))][0].incomplete = True
    if n_orgs >= 20:
        weak = [p[0] for p in plans if p[1] == "weak" and not getattr(p[0], "incomplete", False)]
        if weak:
            pick.choice(weak).force_veto = True


def _standards(types, given) -> tuple[dict[str, str], dict[str, Standard]]:
    refs, stds, loaded = {}, {}, {}
    avail = set(available_standards([resources.rules_dir()]))
    for t in types:
        if given and t in given:
            ref = given[t]
            ref = str(Path(ref).resolve()) if str(ref).endswith((".yaml", ".yml")) else str(ref)
        elif t in avail:
            ref = t
        else:
            ref = "general"
        if ref not in loaded:
            loaded[ref] = load_standard(ref)
        refs[t], stds[t] = ref, loaded[ref]
    return refs, stds


def _waivers(plans, refs, stds, rng: random.Random) -> list[tuple[str, str, str]]:
    """One or two approved exemptions: a service centre under reconstruction, a merger."""
    ok = [p[0] for p in plans if not getattr(p[0], "incomplete", False) and not getattr(p[0], "force_veto", False)]
    if len(ok) < 10:
        return []
    out = []
    for o in sorted(rng.sample(ok, 2), key=lambda x: x.id):
        std = stds[o.type]
        base = [c for c in std.criteria.values() if c.kind == "base"]
        area = [c for c in base if any(std.fields[f].unit == "m2" for f in c.reads)]
        if area and not out:
            c = area[0]
            reason = "党群服务中心因旧城改造拆除重建，经区委组织部复核同意，本年度免于考核该项"
        else:
            c = rng.choice(base)
            reason = "党组织年内因机构改革撤并重建，相关工作不足一年，经区委组织部复核同意免于考核该项"
        out.append((o.id, c.id, reason))
    return out


def _round_yaml(n: int, seed: int, types, refs, stds, waivers) -> str:
    tops = {s.grading.tiers[0].id for s in stds.values()}
    bottoms = {s.grading.tiers[-1].id for s in stds.values()}
    lines = [
        f"# {ROUND_TITLE}（演示数据）",
        f"# 由 agrade demo 生成：{n} 个基层党组织，随机种子 {seed}。单位名称、人名均为虚构。",
        "id: shiliqu-2026",
        f"title: {ROUND_TITLE}",
        f"issuer: {ISSUER}",
        f"period: {{from: {PERIOD_FROM}, to: {PERIOD_TO}}}",
        "standards:",
    ]
    for t in types:
        lines.append(f"  {t}: {_q(refs[t])}")
    lines += ["organizations: organizations.csv", "evidence: [evidence/]"]
    if len(tops) == 1:
        top = next(iter(tops))
        lines += ["grading:", f"  target: {{tier: {top}, min_share: 20%, scope: type}}   # 各领域A档占比不低于20%"]
    if waivers:
        lines.append("waivers:")
        for oid, cid, reason in waivers:
            lines += [f"  - organization: {oid}", f"    criterion: {_q(cid)}", f"    reason: {reason}"]
    lines += ["lists:", "  red:", "    title: 示例区2026年度基层党组织“创A”红榜",
              f"    include: \"{_tier_test(tops)} and veto_count == 0\"",
              "    top: {n: 3, scope: street}",
              "  black:", "    title: 示例区2026年度基层党组织“创A”黑榜",
              "    include_any:", "      - \"veto_count > 0\"", f"      - \"{_tier_test(bottoms)}\""]
    lines += ["    bottom: {share: 5%, scope: round}"]
    return "\n".join(lines) + "\n"


def _tier_test(ids: set[str]) -> str:
    ids = sorted(ids)
    if len(ids) == 1:
        return f"tier == '{ids[0]}'"
    return "tier in [" + ", ".join(f"'{i}'" for i in ids) + "]"


def _q(s: str) -> str:
    s = str(s)
    if s.replace("_", "").replace("-", "").replace(".", "").isalnum() and s.isascii():
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_csv(path: Path, header: list[str], rows: list[list[str]]):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


def _clear(ev: Path):
    """Remove what an earlier demo wrote here, so no stale evidence is read twice."""
    for name in ("values.csv", "records.csv"):
        p = ev / name
        if p.is_file():
            p.unlink()
    orgs = ev / "orgs"
    if orgs.is_dir():
        for p in orgs.glob("SL-*.yaml"):
            p.unlink()
