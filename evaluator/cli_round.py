"""The store's commands: `agrade round …`, `agrade evidence …`, `agrade appeal …`,
`agrade waiver …`, `agrade history`, `agrade audit verify`.

Every command takes --db (else AGRADE_DB, else ./agrade.db); every change names who makes
it: --by, else AGRADE_USER, else the login name.
"""
from __future__ import annotations

import datetime
import getpass
import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli import Typer, app, command, err, movement_line, out
from .terms import date_text, stamp_text

DB = typer.Option(None, "--db", metavar="URL", help="数据库（默认 AGRADE_DB 或 ./agrade.db）— the store: sqlite:///… or postgresql://…")
BY = typer.Option(None, "--by", metavar="NAME", help="操作人（默认 AGRADE_USER 或登录名）— who makes the change")
ROUND_ARG = typer.Argument(..., metavar="ROUND", help="轮次编号 — the round's id")
ROUND_FILE_ARG = typer.Argument(..., metavar="ROUND.yaml", help="考评轮次文件 — the round file (round.yaml)")
ORG_ARG = typer.Argument(..., metavar="ORG", help="组织编号 — the organization's id")
ON_HELP = "日期（默认今天）— the date (default: today)"

round_app = Typer(no_args_is_help=True, help="考评轮次（数据库）— rounds in the store: import, evaluate, lifecycle, export")
evidence_app = Typer(no_args_is_help=True, help="佐证材料 — evidence submissions in the store")
appeal_app = Typer(no_args_is_help=True, help="申诉复核 — appeals: file and decide")
waiver_app = Typer(no_args_is_help=True, help="免考核 — waivers with an approver and an expiry")
audit_app = Typer(no_args_is_help=True, help="审计日志 — the audit log")
app.add_typer(round_app, name="round")
app.add_typer(evidence_app, name="evidence")
app.add_typer(appeal_app, name="appeal")
app.add_typer(waiver_app, name="waiver")
app.add_typer(audit_app, name="audit")


def _store(db: str | None):
    from .store.base import Store
    return Store(db)


def _by(by: str | None) -> str:
    if by:
        return by
    if os.environ.get("AGRADE_USER"):
        return os.environ["AGRADE_USER"]
    try:
        return getpass.getuser()
    except Exception:                      # no login name (a container): the change must still say who
        return ""


def _say(text: str) -> None:
    out.print(text, markup=False)


# ------------------------------------------------------------------ round

@round_app.command("import")
@command
def round_import(round_file: Path = ROUND_FILE_ARG, db: Optional[str] = DB,
                 by: Optional[str] = BY):
    """导入轮次文件夹（可重复导入，相同内容不重复记录）— load a round folder into the store (idempotent)."""
    from .store.rounds import import_round
    store = _store(db)
    r = import_round(store, round_file, _by(by))
    _say(f"轮次 {r.round}{'（新建）' if r.created else ''}：{r.organizations} 个组织"
         f"（新增 {r.units.get('added', 0)}，信息变更 {r.units.get('changed', 0)}）；"
         f"材料新版本 {r.new_versions} 条，未变 {r.unchanged} 条，撤回 {r.withdrawn} 条 → {store.where}")


@round_app.command("create")
@command
def round_create(round_file: Path = ROUND_FILE_ARG, db: Optional[str] = DB,
                 by: Optional[str] = BY):
    """新建轮次（草拟阶段，只登记标准与组织名册，不导入材料）— create a draft round: settings, standards, registry."""
    from .store.rounds import import_round
    store = _store(db)
    r = import_round(store, round_file, _by(by), evidence=False)
    _say(f"轮次 {r.round}{'已新建（草拟）' if r.created else '已存在，设置与名册已同步'}：{r.organizations} 个组织 → {store.where}")


@round_app.command("evaluate")
@command
def round_evaluate(round_id: str = ROUND_ARG, db: Optional[str] = DB, by: Optional[str] = BY,
                   out_dir: Optional[Path] = typer.Option(None, "--out", help="同时写出结果文件夹 — also write a results folder")):
    """评估数据库中的轮次并保存结果 — evaluate a stored round from its current evidence; store outcomes."""
    from .store.scoring import evaluate
    store = _store(db)
    ev = evaluate(store, round_id, _by(by))
    _expired(ev)
    _changes(ev.changed, ev.titles)
    _say(f"轮次 {round_id} 第 {ev.number} 次评估：{ev.organizations} 个组织，{len(ev.changed)} 个组织的档次、排名或名单与上次不同")
    if out_dir is not None:
        _write(store, round_id, out_dir)


@round_app.command("rescore")
@command
def round_rescore(round_id: str = ROUND_ARG,
                  orgs: List[str] = typer.Argument(..., metavar="ORG...", help="证据有变化的组织 — organizations whose evidence changed"),
                  db: Optional[str] = DB, by: Optional[str] = BY,
                  out_dir: Optional[Path] = typer.Option(None, "--out", help="同时写出结果文件夹 — also write a results folder")):
    """只重新评分证据有变化的组织（其他组织的结果从数据库读取）— re-score organizations from the stored outcomes."""
    from .store.scoring import rescore
    store = _store(db)
    ev = rescore(store, round_id, list(dict.fromkeys(orgs)), _by(by))
    _expired(ev)
    _changes(ev.changed, ev.titles)
    _say(f"轮次 {round_id} 第 {ev.number} 次评估（重新评分 {ev.organizations} 个组织）：{len(ev.changed)} 个组织的档次、排名或名单随之变化")
    if out_dir is not None:
        _write(store, round_id, out_dir)


def _write(store, round_id: str, out_dir: Path) -> None:
    from .cli import check_out_dir
    from .store.scoring import write_results
    check_out_dir(out_dir)
    with store.read() as conn:
        write_results(conn, round_id, out_dir)
    _say(f"结果已写出 → {out_dir}/results.json")


def _changes(changed: dict, titles: dict, limit: int = 30) -> None:
    from .store.scoring import describe
    for n, (oid, what) in enumerate(sorted(changed.items())):
        if n == limit:
            _say(f"  ……另有 {len(changed) - limit} 个组织")
            break
        _say(f"  {oid}：{describe(what, titles)}")


@round_app.command("export")
@command
def round_export(round_id: str = ROUND_ARG, out_dir: Path = typer.Option(..., "--out", help="导出到此文件夹 — folder to export to"),
                 db: Optional[str] = DB,
                 results: bool = typer.Option(False, "--results", help="同时写出最近一次评估的结果 — also write the results")):
    """导出为轮次文件夹（round.yaml、标准、名册、材料）— write the stored round back as a round folder."""
    from .cli import check_out_dir
    from .store.rounds import materialize
    check_out_dir(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        from .errors import InputError, Issue
        raise InputError(Issue(str(out_dir), 0, 0, "--out", "the folder is not empty; export into a new or empty folder"))
    store = _store(db)
    with store.read() as conn:
        path = materialize(conn, round_id, out_dir, evidence=True)
    _say(f"轮次 {round_id} 已导出 → {path}")
    if results:
        _write(store, round_id, out_dir / "results")


@round_app.command("status")
@command
def round_status(round_id: Optional[str] = typer.Argument(None, metavar="[ROUND]", help="轮次编号（不给则列出全部轮次）— the round (default: every round)"), db: Optional[str] = DB):
    """轮次状态：阶段、组织数、最近评估、档次分布 — a round's state (or every round's)."""
    from .store.status import round_status as status, rounds_list
    store = _store(db)
    with store.read() as conn:
        if round_id is None:
            t = Table(title=Text("考评轮次"))
            for c in ("轮次", "名称", "阶段", "组织数", "最近评估"):
                t.add_column(c)
            for r in rounds_list(conn):
                t.add_row(*(Text(str(x)) for x in r))
            out.print(t)
            return
        for line in status(conn, round_id):
            _say(line)


def _step(to: str):
    def step(round_id: str = ROUND_ARG, db: Optional[str] = DB, by: Optional[str] = BY):
        from .store.rounds import LIFECYCLE_ZH, advance
        store = _store(db)
        advance(store, round_id, to, _by(by))
        _say(f"轮次 {round_id} 进入“{LIFECYCLE_ZH[to]}”阶段")
    return step


for _name, _to, _help in (("collect", "collecting", "开始收集材料 — open the round for evidence"),
                          ("verify", "verifying", "进入核查阶段 — inspectors verify"),
                          ("review", "reviewing", "进入审核阶段 — evidence closes, results are reviewed"),
                          ("finalize", "finalized", "定稿（之后只能通过申诉复核更正）— finalize: no change but appeals")):
    round_app.command(_name, help=_help)(command(_step(_to)))


@round_app.command("publish")
@command
def round_publish(round_id: str = ROUND_ARG, db: Optional[str] = DB, by: Optional[str] = BY,
                  on: Optional[str] = typer.Option(None, "--on", metavar="YYYY-MM-DD", help="发布日期（默认今天）— the publication date (default: today)")):
    """发布：定稿的结果与红黑榜成为有日期的公布版本 — publish a finalized round and its lists (dated)."""
    from .store.publish import publish
    store = _store(db)
    pid = publish(store, round_id, _by(by), _date(on))
    _say(f"轮次 {round_id} 已发布（名单第 {pid} 号，{date_text(_date(on) or datetime.date.today())}）")


@round_app.command("bulletin")
@command
def round_bulletin(round_id: str = ROUND_ARG,
                   as_of: str = typer.Option(..., "--as-of", metavar="YYYY-MM-DD",
                                             help="通报截止日（考评期内）— the as-of date, inside the round's period"),
                   out_dir: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                                          help="同时写出本期结果目录（可供 agrade report）— also write the bulletin's results folder"),
                   previous: List[Path] = typer.Option([], "--previous", metavar="DIR",
                                                       help="上一年度的结果或通报目录（可重复）— last year's results or bulletins"),
                   db: Optional[str] = DB, by: Optional[str] = BY):
    """发布一期通报：按截止日评估并记录（与本轮此前各期比较升降）— issue a bulletin: the round evaluated as of a date, kept with its evaluation."""
    from .cli import bulletin_dirs, check_out_dir
    from .store.publish import issue_bulletin
    store = _store(db)
    if out_dir is not None:
        check_out_dir(out_dir)
    day = _date(as_of)
    # a folder of earlier bulletins may hold the one being written (--out): it is left out
    earlier = bulletin_dirs(previous, out_dir) if out_dir is not None else bulletin_dirs(previous, Path(os.devnull))
    b = issue_bulletin(store, round_id, day, _by(by), earlier, out_dir)
    _say(f"轮次 {round_id} 第 {b.number} 期通报（截至{date_text(day)}）已记录（按截至该日的材料评估）"
         + (f"，结果 → {out_dir}" if out_dir is not None else ""))
    if b.header["bulletin"]["moves"]:
        _say(movement_line(b.header["bulletin"]))


def _date(text: str | None):
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        from .errors import InputError, Issue
        raise InputError(Issue("--on/--as-of", 0, 0, "$", f"not a date: {text!r} (expected YYYY-MM-DD)")) from None


# ------------------------------------------------------------------ evidence

@evidence_app.command("submit")
@command
def evidence_submit(round_id: str = ROUND_ARG, org: str = ORG_ARG,
                    field: str = typer.Argument(..., metavar="FIELD", help="证据字段 — the evidence field"),
                    value: str = typer.Argument(..., metavar="VALUE", help="填报的值 — the value"),
                    source: str = typer.Option("self", "--source", help="来源：self（自评）或 verified（核查）— self-reported or verified"),
                    inspector: Optional[str] = typer.Option(None, "--inspector", help="核查人（核查值必填）— the inspector (verified values)"),
                    verified_on: Optional[str] = typer.Option(None, "--verified-on", metavar="YYYY-MM-DD",
                                               help="核查日期 — the day it was verified"),
                    expect: Optional[int] = typer.Option(None, "--expect", metavar="VERSION",
                                                         help="您看到的版本号（0 表示此前没有）；他人已更新则拒绝 — the version you started from"),
                    attach: List[Path] = typer.Option([], "--attach", help="佐证附件（可多次）— supporting files"),
                    db: Optional[str] = DB, by: Optional[str] = BY):
    """提交一项材料（新版本，原有版本保留）— submit one field's value as its next version."""
    from .store.submit import submit
    store = _store(db)
    v = submit(store, round_id, org, field, value, source, _by(by), expect, inspector, verified_on, files=list(attach))
    _say(f"{org} 的 {field}（{'核查' if source == 'verified' else '自评'}）" + (f"已保存为第 {v} 版" if v else "与当前版本相同，未新增"))


@evidence_app.command("show")
@command
def evidence_show(round_id: str = ROUND_ARG, org: str = ORG_ARG,
                  db: Optional[str] = DB):
    """一个组织的当前材料及版本号 — an organization's current evidence, with versions."""
    from .store.submit import show
    store = _store(db)
    with store.read() as conn:
        for line in show(conn, round_id, org):
            _say(line)


# ------------------------------------------------------------------ audit

@audit_app.command("verify")
@command
def audit_verify(db: Optional[str] = DB):
    """校验审计日志哈希链（发现被改动、插入或删除的记录）— verify the audit log's hash chain."""
    from .store.audit import verify
    store = _store(db)
    with store.read() as conn:
        v = verify(conn)
    for p in v.problems:
        err.print(p, markup=False)
    if v.problems:
        err.print(f"审计日志校验未通过：{len(v.problems)} 处问题（{store.where}）", markup=False)
        raise typer.Exit(1)
    _say(f"审计日志完好：{v.entries} 条记录，链头哈希 {v.head}（可抄录留存，日后比对）")


def _expired(ev) -> None:
    for w in ev.expired:
        err.print(f"注意：{w['organization']} 的 {w['criterion']} 免考核已于{stamp_text(w['expires_at'])} 过期，"
                  "本次按正常标准评估", markup=False)


# ------------------------------------------------------------------ appeals

@appeal_app.command("file")
@command
def appeal_file(round_id: str = ROUND_ARG, org: str = ORG_ARG,
                criteria: str = typer.Option(..., "--criteria", help="申诉的指标，逗号分隔 — e.g. G4.1,G6.2"),
                reason: str = typer.Option(..., "--reason", help="申诉理由 — why the organization appeals"),
                attach: List[Path] = typer.Option([], "--attach", help="附件（可多次）— attachments"),
                db: Optional[str] = DB, by: Optional[str] = BY):
    """提出申诉 — file an appeal against criterion outcomes."""
    from .store.appeals import file_appeal
    store = _store(db)
    aid = file_appeal(store, round_id, org, [c.strip() for c in criteria.split(",") if c.strip()], reason, _by(by),
                      list(attach))
    _say(f"申诉已登记：第 {aid} 号（{org}，{criteria}）")


@appeal_app.command("decide")
@command
def appeal_decide(appeal_id: int = typer.Argument(..., metavar="APPEAL", help="申诉编号 — the appeal's number"),
                  uphold: bool = typer.Option(False, "--uphold", help="维持原结果 — uphold the result"),
                  amend: List[str] = typer.Option([], "--set", metavar="FIELD=VALUE", help="更正的核查值（可多次）— a corrected verified value (repeatable)"),
                  reason: str = typer.Option(..., "--reason", help="复核意见 — the review's reasoning"),
                  out_dir: Optional[Path] = typer.Option(None, "--out", help="重新出具的测评报告（加注复核）写到此文件夹 — folder for the re-issued scorecard"),
                  db: Optional[str] = DB, by: Optional[str] = BY):
    """复核申诉：维持或更正；更正后重新评分、排名并重新出具测评报告 — decide an appeal."""
    from .errors import InputError, Issue
    from .store.appeals import decide
    if uphold == bool(amend):
        raise InputError(Issue(f"appeal {appeal_id}", 0, 0, "$", "decide with either --uphold or --set FIELD=VALUE (amend)"))
    pairs = []
    for a in amend:
        if "=" not in a:
            raise InputError(Issue(f"appeal {appeal_id}", 0, 0, "--set", f"expected FIELD=VALUE, got {a!r}"))
        k, v = a.split("=", 1)
        pairs.append((k.strip(), v.strip()))
    store = _store(db)
    d = decide(store, appeal_id, "uphold" if uphold else "amend", reason, _by(by), pairs)
    if d["state"] == "upheld":
        _say(f"第 {appeal_id} 号申诉：维持原结果")
        return
    _say(f"第 {appeal_id} 号申诉：予以更正，{d['organization']} 已重新评分（第 {d['number']} 次评估）")
    _changes(d["changed"], d["titles"])
    if out_dir is not None:
        from .store.reissue import reissue
        files = reissue(store, appeal_id, out_dir)
        _say(f"已重新出具测评报告（复核）：{len(files)} 个文件 → {out_dir}")


# ------------------------------------------------------------------ waivers

@waiver_app.command("add")
@command
def waiver_add(round_id: str = ROUND_ARG, org: str = ORG_ARG,
               criterion: str = typer.Argument(..., metavar="CRITERION", help="指标编号 — the criterion's id"),
               justification: str = typer.Option(..., "--justification", help="免考核理由 — why the criterion is waived"),
               approver: str = typer.Option(..., "--approver", help="批准人 — who approved it"),
               expires: str = typer.Option(..., "--expires", metavar="2026-12-31T23:59:59+08:00", help="到期时间（须带时区）— when it expires (with a time zone)"),
               db: Optional[str] = DB, by: Optional[str] = BY):
    """新增免考核（须有理由、批准人和带时区的到期时间）— add a waiver."""
    from .store.waivers import add_waiver, parse_expiry
    store = _store(db)
    expiry = parse_expiry(expires)
    wid = add_waiver(store, round_id, org, criterion, justification, approver, expiry, _by(by))
    _say(f"免考核第 {wid} 号：{org} 的 {criterion}，{stamp_text(expiry)} 到期")


@waiver_app.command("list")
@command
def waiver_list(round_id: str = ROUND_ARG, db: Optional[str] = DB):
    """免考核清单（标明已过期的）— list a round's waivers, expired ones marked."""
    from .store.db import now
    from .store.waivers import waivers_of
    store = _store(db)
    with store.read() as conn:
        ws = waivers_of(conn, round_id)
    t = Table(title=Text(f"{round_id} 免考核清单"))
    for c in ("编号", "组织", "指标", "理由", "批准人", "到期", "状态"):
        t.add_column(c)
    for w in ws:
        t.add_row(*(Text(str(x)) for x in (w["id"], w["organization"], w["criterion"], w["justification"], w["approver"],
                                           stamp_text(w["expires_at"]), "已过期" if w["expires_at"] <= now() else "有效")))
    out.print(t)


# ------------------------------------------------------------------ history

@app.command("history")
@command
def history_cmd(org: str = ORG_ARG, db: Optional[str] = DB):
    """一个组织历年的档次变化（各轮次、各次评估、通报、申诉）— an organization's tiers across rounds."""
    from .store.history import history
    from .store.scoring import EVALUATION_KIND_ZH, tier_name
    store = _store(db)
    with store.read() as conn:
        rounds = history(conn, org)
    if not rounds:
        from .errors import InputError, Issue
        raise InputError(Issue(org, 0, 0, "$", f"organization {org} is in no round of the store ({store.where})"))
    prev_tier = None
    for r in rounds:
        std = r["standard"]
        _say(f"{r['title']}（{r['round']}，{date_text(r['period'][0])}至{date_text(r['period'][1])}）：{r['name']}"
             + (f"；考评标准 {std['title']}（{std['version']}版）" if std else ""))
        titles = r["titles"]
        for s in r["steps"]:
            lists = "，".join(titles.get(x, x) for x in s["lists"])
            _say(f"  {date_text(s['at'])} {EVALUATION_KIND_ZH.get(s['kind'], s['kind'])}：档次 {tier_name(titles, s['tier'])}，"
                 f"总分 {s['total'] or '—'}，全域排名 {s['rank'] or '—'}" + (f"，{lists}" if lists else ""))
        for b in r["bulletins"]:
            _say(f"  通报（截至{date_text(b['as_of'])}）：档次 {tier_name(titles, b['tier'])}，排名 {b['rank'] or '—'}")
        for a in r["appeals"]:
            _say(f"  申诉第 {a['id']} 号（{', '.join(json.loads(a['criteria']))}）："
                 + {"filed": "待复核", "upheld": "维持原结果", "amended": "予以更正"}[a["state"]])
        last = tier_name(titles, r["steps"][-1]["tier"]) if r["steps"] and r["steps"][-1]["tier"] else None
        if prev_tier is not None and last is not None:
            _say(f"  与上一轮相比：{prev_tier} → {last}")
        prev_tier = last or prev_tier


# ------------------------------------------------------------------ inspection

@round_app.command("plan")
@command
def round_plan(plan_file: Path = typer.Argument(..., metavar="INSPECTION.yaml", help="核查计划文件 — the inspection plan"), db: Optional[str] = DB,
               by: Optional[str] = BY, on: Optional[str] = typer.Option(None, "--on", metavar="YYYY-MM-DD", help=ON_HELP)):
    """载入核查安排（考核组、核查人、回避规则）— load a round's inspection plan: teams, inspectors, conflict rules."""
    from .store.inspection import load_plan
    store = _store(db)
    r = load_plan(store, plan_file, _by(by), _date(on))
    _say(f"轮次 {r.round} 的核查安排已{'更新' if r.replaced else '载入'}：核查人 {r.inspectors} 名，考核组 {r.teams} 个，"
         f"分派组织 {r.assigned} 个")


@round_app.command("assign")
@command
def round_assign(round_id: str = ROUND_ARG, team: str = typer.Argument(..., metavar="TEAM", help="核查组 — the inspection team"),
                 orgs: List[str] = typer.Argument(..., metavar="ORG...", help="组织编号 — organization ids"),
                 move: bool = typer.Option(False, "--move", help="已分派给其他组的改派到本组 — move organizations another team has"),
                 on: Optional[str] = typer.Option(None, "--on", metavar="YYYY-MM-DD", help="分派日期（回避规则按此日判断）— the assignment date (conflict rules read it)"),
                 db: Optional[str] = DB, by: Optional[str] = BY):
    """把组织分派给考核组（违反回避规则的拒绝）— assign organizations to an inspection team."""
    from .store.inspection import assign
    store = _store(db)
    r = assign(store, round_id, team, list(orgs), _by(by), _date(on), move=move)
    _say(f"考核组 {team}：新分派 {len(r.added)} 个，改派 {len(r.moved)} 个，原已分派 {len(r.unchanged)} 个")


@round_app.command("sample")
@command
def round_sample(round_id: str = ROUND_ARG,
                 rate: str = typer.Option(..., "--rate", help="抽查比例，如 10% — the share to spot-check"),
                 seed: Optional[int] = typer.Option(None, "--seed", help="随机种子（不给则随机生成并记录）— random seed (drawn and recorded if not given)"),
                 strata: str = typer.Option("district,street,type", "--strata", help="分层 — strata: district,street,type"),
                 out_file: Optional[Path] = typer.Option(None, "--out", help="抽查名单 .xlsx 或 .csv — the sample list file"),
                 db: Optional[str] = DB, by: Optional[str] = BY):
    """分层随机抽查（记录种子，可复现）— draw a stratified spot-check sample, reproducible from its seed."""
    from .store.inspection import export_sample, sample
    store = _store(db)
    s = sample(store, round_id, rate, _by(by), seed, tuple(x.strip() for x in strata.split(",") if x.strip()))
    _say(f"抽查第 {s.id} 次：{len(s.rows)}/{s.population} 个组织，随机种子 {s.seed}（{s.rounding}）")
    if out_file is not None:
        with store.read() as conn:
            path = export_sample(conn, round_id, out_file, s.id)
        _say(f"抽查名单 → {path}")


@round_app.command("discrepancies")
@command
def round_discrepancies(round_id: str = ROUND_ARG, db: Optional[str] = DB):
    """自评与核查差异：按组织、按核查人 — self-reported vs verified differences, per organization and inspector."""
    from .store.inspection import discrepancies
    store = _store(db)
    with store.read() as conn:
        for line in discrepancies(conn, round_id).lines():
            _say(line)
