"""`agrade demo`'s second half: a small round walked through its whole life in the store.

Import → spot-check sample → verification → evaluation (初评) → a bulletin → corrected evidence
→ evaluation → a second bulletin → review and finalize, the results publicly noticed (公示) → an
appeal, decided by an independent reviewer (复核), amended → its scorecard re-issued stamped 复核
→ publish (发布) → history and the audit log, all in the database --db / AGRADE_DB names
(./agrade.db by default). The dates follow that order: the store dates the appeal's decision by
the clock, so the simulated publication is never dated before it.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable

from ..terms import date_text
from .appeals import decide, file_appeal
from .base import Store
from .history import history
from .publish import bulletin, publish
from .reissue import BEIJING, reissue
from .rounds import advance, get_round, import_round, open_round
from .scoring import describe, evaluate, write_results
from .submit import submit

DEPARTMENT = "区委组织部-演示"
# the simulated publication: two weeks after the demo round's period (2026) ends
PUBLISHED_ON = datetime.date(2027, 1, 15)


def _round_id(seed: int, n: int) -> str:
    return f"demo-{seed}-{n}"


def walk(store: Store, out_dir: Path, n: int, seed: int, say: Callable[[str], None]) -> str | None:
    """Generate a round of n organizations into out_dir/store-round and walk it; its id (None
    when the store already holds it: a round's life is walked once)."""
    from ..demo import generate
    from .base import Refused
    rid = _round_id(seed, n)
    try:
        with store.read() as c:
            r = get_round(c, rid)
        say(f"数据库中已有演示轮次 {rid}（{r['state']}）：查看 agrade round status {rid}")
        return None
    except Refused:
        pass
    round_yaml = generate(out_dir / "store-round", n, seed)
    text = round_yaml.read_text(encoding="utf-8")
    import re
    round_yaml.write_text(re.sub(r"(?m)^id: .*$", f"id: {rid}", text, count=1), encoding="utf-8")

    rep = import_round(store, round_yaml, DEPARTMENT)
    say(f"① 导入轮次 {rid}：{rep.organizations} 个组织，材料 {rep.new_versions} 条 → {store.where}")
    from .inspection import sample
    s = sample(store, rid, "10%", DEPARTMENT, seed=seed)
    say(f"② 分层抽查 10%：{len(s.rows)} 个组织（随机种子 {s.seed}）")
    advance(store, rid, "verifying", DEPARTMENT)
    ev = evaluate(store, rid, DEPARTMENT)
    first_cut = datetime.date(2026, 6, 30)
    b1 = bulletin(store, rid, first_cut, DEPARTMENT)
    say(f"③ 第 {ev.number} 次评估，第 {b1} 期通报（截至{date_text(first_cut)}）")

    with store.read() as c:
        with open_round(c, rid) as mat:
            rnd = mat.round
        write_results(c, rid, out_dir / "store-results")
    from ..scoring.source import load_results
    results = load_results(out_dir / "store-results")
    graded = [o for o in results["organizations"] if o["status"] == "graded"]
    # an inspector corrects a verified number of the lowest-ranked organization
    low = graded[-1]
    std = rnd.standards[next(o.type for o in rnd.organizations if o.id == low["id"])]
    field, value = _a_number_to_raise(low, std)
    submit(store, rid, low["id"], field, value, "verified", "督导组-演示核查员", None, inspector="督导组-演示核查员",
           verified_on="2026-09-15")
    ev2 = evaluate(store, rid, DEPARTMENT)
    second_cut = datetime.date(2026, 9, 30)
    b2 = bulletin(store, rid, second_cut, DEPARTMENT)
    say(f"④ {low['name']}（{low['id']}）的核查值更正后第 {ev2.number} 次评估：{len(ev2.changed)} 个组织随之变化；"
        f"第 {b2} 期通报（截至{date_text(second_cut)}）")

    for step in ("reviewing", "finalized"):
        advance(store, rid, step, DEPARTMENT)
    say("⑤ 审核、定稿，结果公示（公示期内可提出申诉）")

    # during the notice, an appeal by the second-lowest organization, about a criterion it lost
    # points on; decided (dated by the clock) before the results are published
    target = graded[-2]
    crit = next(c for c in target["criteria"] if c["outcome"] in ("fail", "partial") and
                any(std_f in _numbers(rnd.standards[target["type"]]) for std_f in
                    rnd.standards[target["type"]].criteria[c["id"]].reads))
    tstd = rnd.standards[target["type"]]
    f = next(x for x in tstd.criteria[crit["id"]].reads if x in _numbers(tstd))
    aid = file_appeal(store, rid, target["id"], [crit["id"]], f"{crit['title']}的材料漏报，现补充原始台账", f"{target['id']}书记")
    raised = _raised(tstd.fields[f], dict((k, v) for k, v in (crit.get("evidence") or {}).items()).get(f))
    d = decide(store, aid, "amend", f"经复核，{tstd.fields[f].label}以补充台账为准", "复核组-演示复核员", [(f, raised)])
    decided_on = d["decided_at"].astimezone(BEIJING).date()
    say(f"⑥ 第 {aid} 号申诉（{target['name']}，{crit['id']}）于{date_text(decided_on)}复核，予以更正：")
    for oid, what in sorted(d["changed"].items()):
        say(f"    {oid}：{describe(what, d['titles'])}")
    files = reissue(store, aid, out_dir / "store-reports")
    say(f"⑦ 重新出具测评报告（复核）：{', '.join(str(p) for p in files)}")
    # published once the appeals are decided: on the simulated date, or on the day of the
    # decision when the demo runs later than that (a list is never dated before its review)
    published_on = max(PUBLISHED_ON, decided_on)
    pid = publish(store, rid, DEPARTMENT, published_on)
    say(f"⑧ 发布（名单第 {pid} 号，{date_text(published_on)}，含复核更正）")
    for line in _history_lines(store, target["id"], rid):
        say(line)
    return rid


def _numbers(std) -> set[str]:
    return {f for f, d in std.fields.items() if d.type in ("number", "integer")}


def _raised(field, current) -> str:
    try:
        v = Decimal(str(current))
    except Exception:
        v = Decimal(0)
    high = field.max if field.max is not None else max(v * 2, v + 10)
    return str(high.to_integral_value() if field.type == "integer" else high)


def _a_number_to_raise(org: dict, std) -> tuple[str, str]:
    numbers = _numbers(std)
    for c in org["criteria"]:
        for f in std.criteria[c["id"]].reads:
            if f in numbers and c["outcome"] in ("fail", "partial"):
                return f, _raised(std.fields[f], (c.get("evidence") or {}).get(f))
    f = sorted(numbers)[0]
    return f, _raised(std.fields[f], None)


def _history_lines(store: Store, org: str, rid: str) -> list[str]:
    from .scoring import tier_name
    with store.read() as c:
        h = [r for r in history(c, org) if r["round"] == rid]
    lines = [f"⑨ {org} 的记录（agrade history {org}）："]
    for s in h[0]["steps"]:
        lines.append(f"    第 {s['number']} 次评估：档次 {tier_name(h[0]['titles'], s['tier'])}，"
                     f"总分 {s['total'] or '—'}，全域排名 {s['rank'] or '—'}")
    return lines
