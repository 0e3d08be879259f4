"""What-if: the round scored again with a changed standard, and who changes tier.

`agrade whatif ROUND.yaml --set 'G4.1.bands[0].min=200'` answers "what happens if we raise
the threshold?" without touching a file. The edits are parsed and the changed standards
compiled in scoring.whatif_edits (a bad edit is refused before anything is scored, naming the
--set and what was expected); the round is scored both ways in scoring.whatif_pairs (the
evidence read once, in the evaluation's partition loop; for the changed standard only the
edited criteria scored again). Here the two sets of compact rows are placed (quotas, ranks)
by the same ScoredRound an evaluation uses and compared. Edits that change no score (tier
lines, quotas, the target) are answered without evidence from the compact rows an evaluation
of the round kept (`results=`: state.jsonl), placed again.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from ..errors import InputError, Issue
from ..intake.evidence import evidence_digest
from ..intake.rounds import Round
from ..model import Standard
from ..terms import STATUS_ZH, scope_label
from .grading import band_index, place
from .rows import Row
from .run import ScoredRound, with_round_overrides
from .whatif_edits import Edit, edited_standards, parse_edit, shown_value
from .whatif_pairs import regrades, score_both_ways

Progress = Callable[[int, int], None]


class _NoSpill:
    """Rows placed for a comparison only: no organization's full result is kept."""

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ the answer

@dataclass
class Move:
    """One organization whose tier changed."""
    id: str
    name: str
    type: str
    district: str
    street: str
    direction: str                    # "up" | "down"
    tier_before: str | None           # tier names (A档, 五星级), None: not graded
    tier_after: str | None
    total_before: Decimal | None
    total_after: Decimal | None


@dataclass
class WhatIf:
    round: dict
    edits: list[Edit]
    changes: list[dict]               # what each edit replaced, per standard (edited_standards)
    organizations: int
    moves: list[Move]
    totals_changed: int               # organizations whose total changed (whether or not their tier did)
    targets: list[dict]               # per target scope: before and after share, met or not
    tiers_before: dict[str, int] = field(default_factory=dict)   # tier name -> organizations
    tiers_after: dict[str, int] = field(default_factory=dict)
    # every organization's (tier id, total, rank in the round), without and with the edits
    before: dict[str, tuple] = field(default_factory=dict)
    after: dict[str, tuple] = field(default_factory=dict)
    # "scored": evidence read, every organization scored both ways; "edited": evidence read, only
    # the edited criteria scored where an evaluation's rows (--results) stand for the rest;
    # "graded": its rows stand for the round as it is, every organization is graded again as
    # edited (the grading, or how it reads a criterion, changed); "rows": no evidence read, the
    # evaluation's rows placed again
    method: str = "scored"
    notes: list[str] = field(default_factory=list)               # why the rows of --results were not used

    @property
    def up(self) -> int:
        return sum(m.direction == "up" for m in self.moves)

    @property
    def down(self) -> int:
        return sum(m.direction == "down" for m in self.moves)


def whatif(rnd: Round, sets: list[str], progress: Progress | None = None, workers: int | None = None,
           results=None) -> WhatIf:
    """The round scored with and without the edits `sets` (`PATH=VALUE` texts); bad edits and
    bad evidence are refused (InputError) before anything is scored. `results`: a results
    folder of this round (agrade evaluate); edits that only move organizations between tiers
    are then answered from its compact rows, without reading evidence (`WhatIf.method`)."""
    before = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    if not sets:
        raise InputError(Issue("--set", 0, 0, "$", "give at least one --set PATH=VALUE"))
    edits = [parse_edit(text, before) for text in sets]
    after, changes = edited_standards(rnd, edits)
    notes: list[str] = []
    rows = _usable_rows(rnd, results, before, notes) if results is not None else None
    if rows is not None and all(placement_only(e) for e in edits):
        method, (rows_before, rows_after) = "rows", (rows, _replaced(rows, after))
        if progress:
            progress(len(rows), len(rows))
    else:
        method = "scored" if rows is None else "graded" if any(regrades(before, after, edits).values()) else "edited"
        rows_before, rows_after = score_both_ways(rnd, before, after, edits, progress, workers, rows)
    old = ScoredRound(rows_before, _NoSpill(), before, {})
    new = ScoredRound(rows_after, _NoSpill(), after, {})
    answer = compare(rnd, edits, changes, old, new)
    answer.method, answer.notes = method, notes
    return answer


# ------------------------------------------------------------------ placement only, from the rows

def placement_only(e: Edit) -> bool:
    """An edit that moves organizations between tiers without changing any score: a tier's
    score line or name, the quotas, the declared distribution, the target. Each row keeps its
    total, its tie-break values, its veto caps and which tiers' gates it fails (by tier place),
    so it is placed again from those alone."""
    p = e.path
    return e.target == "grading" and (p[0] in ("quotas", "distribution", "target") or (
        p[0] == "tiers" and len(p) == 3 and isinstance(p[1], int) and p[2] in ("min", "name")))


def _usable_rows(rnd: Round, folder, before, notes: list[str]) -> list[Row] | None:
    """The compact rows of an evaluation of this round (state.jsonl), if the folder is of the
    round as it is now: its standards (read_state refuses others), every organization of the
    registry, the evidence as it is (the digest results.json records), the waivers as they are
    (state.jsonl records them) and no as-of date (a bulletin). None, with the reason in
    `notes`, otherwise."""
    from .rescore import read_state, waivers_state
    rows, head = read_state(folder, rnd, before)
    header = head.get("header") or {}
    if (header.get("round") or {}).get("as_of"):
        notes.append(f"{folder} 是一期通报（按截止日评估），已重新读取证据并评分")
        return None
    if len(rows) != len(rnd.organizations):
        notes.append(f"{folder} 的组织与当前名册不一致，已重新读取证据并评分")
        return None
    if header.get("evidence_digest") != evidence_digest(rnd.evidence_paths):
        notes.append(f"证据在 {folder} 评估之后有变化，已重新读取证据并评分")
        return None
    if header.get("waivers") != waivers_state(rnd.waivers):
        # a waiver approved or withdrawn since changes the points of the criterion it names
        # (waived: full points); results written before state.jsonl recorded waivers say nothing
        notes.append(f"免考核事项与 {folder} 评估时不同，已重新读取证据并评分" if "waivers" in header
                     else f"{folder} 未记录评估时的免考核事项（较早版本写出），已重新读取证据并评分")
        return None
    return rows


def _replaced(rows: list[Row], after: dict[str, Standard]) -> list[Row]:
    """Each row as the edited grading places it (before quotas; ScoredRound applies them)."""
    gradings = {s.id: s.grading for s in after.values()}
    out = []
    for r in rows:
        n = copy.copy(r)
        if r.graded:
            g = gradings[r.standard]
            n.tier_index = place(g, band_index(g, r.total), list(r.caps), r.gate_failures or {}, [])
        out.append(n)
    return out


def _place(r: Row, std: Standard) -> int:
    """Where a row stands in its standard's tiers, best first; not graded is below every tier."""
    return r.tier_index if r.tier_index is not None else len(std.grading.tiers)


def compare(rnd: Round, edits: list[Edit], changes: list[dict], old: ScoredRound, new: ScoredRound) -> WhatIf:
    moves, changed = [], 0
    for a, b in zip(old.rows, new.rows):
        changed += a.total != b.total
        pa, pb = _place(a, old.standards[a.standard]), _place(b, new.standards[b.standard])
        if pa != pb:
            moves.append(Move(a.id, a.name, a.type, a.district, a.street, "up" if pb < pa else "down",
                              a.tier_name, b.tier_name, a.total, b.total))
    # those moving up first, then down; each in registry order
    moves.sort(key=lambda m: m.direction != "up")
    targets = []
    after = {(t["scope"], t["value"], t["tier"]): t for t in new.header["summary"]["target"]}
    names = {t.id: t.name for s in new.standards.values() for t in s.grading.tiers}
    for t in old.header["summary"]["target"]:
        n = after.get((t["scope"], t["value"], t["tier"]))
        if n is None:
            continue
        targets.append({"where": scope_label(t["scope"] or "round", t["value"] or ""), "tier": names.get(t["tier"], t["tier"]),
                        "target": n["target"], "before": t["share"], "after": n["share"], "count_before": t["count"],
                        "count_after": n["count"], "graded_before": t["graded"], "graded_after": n["graded"],
                        "met_before": t["met"], "met_after": n["met"]})

    def tiers(scored: ScoredRound) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in scored.order:
            key = r.tier_name or STATUS_ZH["not_graded"]
            out[key] = out.get(key, 0) + 1
        return out
    placed = lambda scored: {r.id: (r.tier, r.total, r.rank_round) for r in scored.rows}   # noqa: E731
    return WhatIf({"id": rnd.id, "title": rnd.title, "issuer": rnd.issuer, "period": rnd.period}, edits, changes, len(old.rows), moves, changed, targets,
                  tiers(old), tiers(new), placed(old), placed(new))


# ------------------------------------------------------------------ as a workbook

MOVE_COLUMNS = [("id", "组织编号", "text"), ("name", "组织名称", "text"), ("district", "区县", "text"),
                ("street", "街道", "text"), ("direction", "变化", "text"), ("tier_before", "原档次", "text"),
                ("tier_after", "新档次", "text"), ("total_before", "原总分", "num"), ("total_after", "新总分", "num")]
SUMMARY_COLUMNS = [("item", "项目", "text"), ("value", "内容", "text")]
TARGET_COLUMNS = [("where", "范围", "text"), ("tier", "目标档次", "text"), ("target", "目标占比", "text"),
                  ("before", "原占比", "text"), ("after", "新占比", "text"), ("met", "是否达标（原 → 新）", "text")]
DIRECTION_ZH = {"up": "升档", "down": "降档"}


def sheets(w: WhatIf) -> list[tuple[str, list, list[dict]]]:
    """The answer as sheets (name, columns, rows) for an XLSX: the summary, the organizations
    whose tier changed, and the target shares."""
    from ..terms import pct
    summary = [{"item": "考评轮次", "value": w.round["title"]}]
    summary += [{"item": "假设调整", "value": f"{c['title']}：{c['path']} {shown_value(c['before'])} → {shown_value(c['after'])}"}
                for c in w.changes]
    summary += [{"item": "组织数", "value": str(w.organizations)},
                {"item": "升档", "value": str(w.up)}, {"item": "降档", "value": str(w.down)},
                {"item": "总分变化的组织", "value": str(w.totals_changed)}]
    moves = [{"id": m.id, "name": m.name, "district": m.district, "street": m.street,
              "direction": DIRECTION_ZH[m.direction], "tier_before": m.tier_before or STATUS_ZH["not_graded"],
              "tier_after": m.tier_after or STATUS_ZH["not_graded"], "total_before": m.total_before, "total_after": m.total_after}
             for m in w.moves]
    yes = {True: "达标", False: "未达标"}
    targets = [{"where": t["where"], "tier": t["tier"], "target": "≥ " + pct(t["target"], 2),
                "before": f"{t['count_before']}/{t['graded_before']} = {pct(t['before'])}",
                "after": f"{t['count_after']}/{t['graded_after']} = {pct(t['after'])}",
                "met": f"{yes[t['met_before']]} → {yes[t['met_after']]}"} for t in w.targets]
    return [("假设分析", SUMMARY_COLUMNS, summary), ("档次变化", MOVE_COLUMNS, moves), ("目标占比", TARGET_COLUMNS, targets)]
