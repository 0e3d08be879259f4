"""The `agrade` command line (typer + rich).

Exit codes: 0 success, 1 an evaluation invariant broke (a bug, reported loudly),
2 invalid input (each problem printed as `file:line:col: json.path: message`).
`run(argv)` is the testable core; `main()` is the console entry point.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import platform
import re
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from .errors import EvaluationError, InputError, Issue
from .standard.distribution import report_line as distribution_line
from .standard.plain import tier_names
from .scoring.results import tier_names_of
from .terms import STATUS_ZH, date_text, num, pct, scope_label

HELP_HELP = "显示此帮助后退出 — show this help and exit"


try:                       # typer >= 0.20 parses with its own copy of click (typer._click)
    from typer._click import HelpFormatter, exceptions as usage_errors
except ImportError:        # pragma: no cover - older typer runs on click itself
    from click import HelpFormatter, exceptions as usage_errors


class ChineseHelpFormatter(HelpFormatter):
    """click's own headings Chinese first like the texts under them: "用法 Usage:", "选项 Options:",
    "参数 Arguments:", "命令 Commands:". click writes them in English (typer's copy of click
    has no gettext hook left, and gettext's language would come from the environment anyway);
    a Context's formatter_class is click's way to lay a help page out otherwise, for every page
    and for the usage line an error prints."""
    HEADINGS = {"Options": "选项 Options", "Arguments": "参数 Arguments", "Commands": "命令 Commands"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法 Usage: " if prefix is None else prefix)

    def section(self, name: str):
        return super().section(self.HEADINGS.get(name, name))

    def write_dl(self, rows, *args, **kwargs):
        # the bracket typer closes an entry's help with ("[required]", "[default: 1]"): its
        # words Chinese first too, only there (an option's own text may say "default: all")
        super().write_dl([(term, _EXTRAS.sub(_extras_zh, text)) for term, text in rows], *args, **kwargs)


_EXTRAS = re.compile(r"\[([^\[\]]*)\]$")
_EXTRAS_ZH = (("required", "必填 required"), ("default: ", "默认 default: "), ("env var: ", "环境变量 env var: "))


def _extras_zh(m: re.Match) -> str:
    items = []
    for item in m.group(1).split("; "):
        items.append(next((zh + item[len(en):] for en, zh in _EXTRAS_ZH if item.startswith(en)), item))
    return "[" + "; ".join(items) + "]"


class ChineseContext(typer.Context):
    formatter_class = ChineseHelpFormatter


# what each kind of usage error is called, Chinese first; click's English message follows it
# (it names the option, the value and what was expected, and "did you mean")
USAGE_ERROR_ZH = ((usage_errors.NoSuchOption, "没有这个选项"), (usage_errors.BadOptionUsage, "选项用法有误"),
                  (usage_errors.MissingParameter, "缺少参数"), (usage_errors.BadParameter, "参数值无效"),
                  (usage_errors.BadArgumentUsage, "参数用法有误"), (usage_errors.UsageError, "用法有误"))


class ChineseUsageError(usage_errors.UsageError):
    """A usage error of click's as agrade prints it: the usage line, the hint and the error
    Chinese first (click's show() prints "Usage:", "Try … for help." and "Error: …")."""

    def __init__(self, error: usage_errors.UsageError):
        super().__init__(error.format_message(), error.ctx)
        self.exit_code = error.exit_code
        kind = next(zh for cls, zh in USAGE_ERROR_ZH if isinstance(error, cls))
        if isinstance(error, usage_errors.MissingParameter) and (error.param_type or getattr(error.param, "param_type_name", "")) == "option":
            kind = "缺少选项"
        elif not isinstance(error, usage_errors.BadParameter) and self.message.startswith("No such command"):
            kind = "没有这个命令"
        self.kind = kind

    def show(self, file=None) -> None:
        color = self.ctx.color if self.ctx is not None else None
        lines = []
        if self.ctx is not None:
            lines.append(self.ctx.get_usage())
            if self.ctx.command.get_help_option(self.ctx) is not None:
                help_cmd = f"{self.ctx.command_path} {self.ctx.help_option_names[0]}"
                lines.append(f"运行 '{help_cmd}' 查看帮助 — Try '{help_cmd}' for help.")
            lines.append("")
        lines.append(f"错误 Error: {self.kind} — {self.format_message()}")
        typer.echo("\n".join(lines), file=file, err=True, color=color)


@contextlib.contextmanager
def _chinese_usage_errors():
    try:
        yield
    except usage_errors.UsageError as e:
        # NoArgsIsHelpError (a bare `agrade round`; click >= 8.2) shows the help page, not an error
        if isinstance(e, (ChineseUsageError, getattr(usage_errors, "NoArgsIsHelpError", ()))):
            raise
        raise ChineseUsageError(e) from e


class _ChineseHelp:
    """--help is an option like any other: its help is Chinese first too (typer's own text is
    English only: "Show this message and exit."); so are click's headings and usage errors
    (ChineseContext, ChineseUsageError), wherever a command's arguments are parsed."""
    context_class = ChineseContext

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_HELP
        return option

    def make_context(self, *args, **kwargs):
        with _chinese_usage_errors():
            return super().make_context(*args, **kwargs)


class ChineseHelpCommand(_ChineseHelp, TyperCommand):
    pass


class ChineseHelpGroup(_ChineseHelp, TyperGroup):
    def invoke(self, ctx):
        # a sub-command's name is looked up ("No such command") and its arguments parsed here
        with _chinese_usage_errors():
            return super().invoke(ctx)


class Typer(typer.Typer):
    """typer.Typer whose commands and sub-command groups (agrade round …) say --help in Chinese."""
    def __init__(self, **kwargs):
        super().__init__(cls=kwargs.pop("cls", ChineseHelpGroup), **kwargs)

    def command(self, name=None, **kwargs):
        return super().command(name, cls=kwargs.pop("cls", ChineseHelpCommand), **kwargs)


app = Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
            help="agrade：基层党组织“创A”考评工具 — score organizations against 1+N YAML standards.")
# Data (titles, names, districts typed by people) is printed as it is: `[red]`, `[/b]` or
# `:smile:` in a round title must neither crash the console nor change what is shown.
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)

# option help texts several commands share, written once ("中文 — English"; tests/test_cli.py
# checks every option of every command has one)
ROUND_HELP = "考评轮次文件 — the round file (round.yaml)"
RESULTS_OUT_HELP = "写出 results.json、results.csv、run.json 的目录 — folder for results.json, results.csv, run.json"
RESULTS_DIR_HELP = "agrade evaluate 写出的结果目录 — a results folder written by agrade evaluate"
QUIET_HELP = "不显示进度条和汇总 — no progress bar or summary"
WORKERS_HELP = "并行进程数（默认每核一个）— worker processes (default: one per core)"
CLUSTER_HELP = "在 Dask 集群上评估 — score on a Dask distributed cluster"


def command(fn):
    """Register a command whose input errors exit 2 and broken invariants exit 1, loudly."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as e:
            for i in e.issues:
                err.print(str(i), markup=False)
            err.print(f"{len(e.issues)} problem(s) found; nothing was evaluated or written.", markup=False)
            raise typer.Exit(2)
        except EvaluationError as e:
            err.print(f"evaluation failed: {e}", markup=False)
            raise typer.Exit(1)
        except OSError as e:
            # the system refused (disk full, no permission, a file vanished): said, not a
            # traceback. Each result file is named only when complete, and a set left with old
            # and new files side by side is refused by every reader (scoring.results)
            where = f"：{e.filename}" if e.filename else ""
            err.print(f"文件读写失败{where}：{e.strerror or e} — the system refused a read or write"
                      f"{f' ({errno.errorcode.get(e.errno, e.errno)})' if e.errno else ''}", markup=False)
            raise typer.Exit(1)
    return wrapper


# ------------------------------------------------------------------ validate

def _kind_of(path: Path, data) -> str:
    if path.name.endswith((".cases.yaml", ".cases.yml")):
        return "cases"
    if isinstance(data, dict) and "agrade_version" in data:
        return "results" if isinstance(data.get("organizations"), list) else "run"   # agrade's own output
    if isinstance(data, dict) and "organizations" in data and "standards" in data:
        return "round"
    if isinstance(data, dict) and ("sections" in data or "extends" in data or "grading" in data):
        return "standard"
    return "evidence"


def validate_paths(paths: list[Path], notices: list[Issue] | None = None) -> tuple[list[Issue], int]:
    """Check every file under `paths`; returns (problems, files checked). Rounds' notices
    (problems that do not stop a run) are added to `notices` when given."""
    from .scoring.cases import load_cases
    from .scoring.results import result_set_issues
    from .scoring.run import check_round
    from .intake.rounds import load_round
    from .standard.schema import check
    from .standard.loader import load_standard
    from .standard.yamlsafe import load_document

    issues: list[Issue] = []
    files: list[Path] = []
    checked_sets: set[Path] = set()
    scanned: set[Path] = set()          # files found by searching a folder
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in (".yaml", ".yml", ".json"))
            files += found
            scanned.update(found)
        elif p.exists():
            files.append(p)
        else:
            issues.append(Issue(str(p), 0, 0, "$", "no such file or folder"))
    for f in files:
        if f.suffix.lower() in (".xlsx", ".csv"):    # read by its round's standards and registry
            issues.append(Issue(str(f), 0, 0, "$", "表格形式的证据随考评轮次检查：agrade validate ROUND.yaml（round.yaml 的 "
                                                   "evidence 须包含此文件）— bulk evidence is checked with its round"))
            continue
        try:
            data, loc = load_document(f)
            kind = _kind_of(f, data)
            if kind == "standard":
                load_standard(f)
            elif kind == "round":
                rnd = load_round(f)
                try:
                    check_round(rnd, workers=None)   # everything `evaluate` checks before scoring
                finally:
                    if notices is not None:
                        notices += [n for n in rnd.notices if n not in notices]
            elif kind == "cases":
                load_cases(f)
            elif kind == "results":
                issues += check(data, "result", loc)
            elif kind != "run":
                issues += check(data, "evidence", loc)
            if kind in ("results", "run") and f.resolve().parent not in checked_sets:
                # results.json and run.json must belong to one complete set (a folder named on
                # the command line is checked as a folder; a results.json alone passes)
                checked_sets.add(f.resolve().parent)
                issues += result_set_issues(f.parent if f in scanned else f)
        except InputError as e:
            issues += e.issues
    return issues, len(files)


@app.command()
@command
def validate(paths: List[Path] = typer.Argument(..., help="标准、轮次、证据文件或目录 — standards, rounds, evidence files or folders")):
    """检查标准、考评轮次和证据文件 — check standards, rounds and evidence."""
    notices: list[Issue] = []
    issues, n = validate_paths(paths, notices)
    print_notices(notices)
    if issues:
        for i in issues:
            err.print(str(i), markup=False)
        err.print(f"{len(issues)} problem(s) in {n} file(s).", markup=False)
        raise typer.Exit(2)
    out.print(f"OK: {n} file(s) valid.", markup=False)


# ------------------------------------------------------------------ evaluate

def _progress(total_label: str, quiet: bool = False):
    """A progress bar on stderr for a long step: only on a terminal (never in a pipe, a log or
    a test's captured output) and not with --quiet; it disappears when the step is done."""
    return Progress(TextColumn(total_label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True, disable=quiet or not err.is_terminal)


def print_notices(notices: list[Issue]) -> None:
    """Problems that do not stop the run (a hidden sheet that was ignored...), on stderr."""
    for n in notices:
        err.print(f"注意：{n}", markup=False)


def check_out_dir(out_dir: Path) -> None:
    """--out must be a folder (or not exist yet): refuse an existing file before any work."""
    p = Path(out_dir)
    for q in [p, *p.parents]:
        if q.exists() or q.is_symlink():
            if not q.is_dir():
                what = "is a file" if q == p else f"is inside {q}, which is a file"
                raise InputError(Issue(str(p), 0, 0, "--out", f"{p} {what}; --out must name a folder"))
            return


def evaluate_to(round_path: Path, out_dir: Path, quiet: bool = False, workers: int | None = None,
                cluster: str | None = None) -> dict:
    from .intake.partition import read_ahead, read_ahead_helpers, stop_read_ahead
    from .intake.rounds import load_round, round_evidence_paths

    check_out_dir(out_dir)
    started = time.time()
    # helper processes parse the bulk evidence files on the other cores while this one imports
    # the scoring modules and loads the round (intake.partition.read_ahead)
    read_ahead(round_evidence_paths(round_path), read_ahead_helpers(workers, cluster),
               out_dir if out_dir.is_dir() else None)
    from .scoring.results import write_result_set
    from .scoring.run import score_round
    try:
        rnd = load_round(round_path)
    except BaseException:
        stop_read_ahead()                    # a round refused: its evidence is not read
        raise
    shown: list[Issue] = []

    def show_notices():                      # once loading is done (or stopped), before scoring
        new = [n for n in rnd.notices if n not in shown]
        shown.extend(new)
        print_notices(new)

    try:
        with _progress("评估中", quiet) as bar:
            task = bar.add_task("evaluate", total=len(rnd.organizations))

            def progress(n, total):
                if n == 1:                   # the evidence is loaded: the first organization is scored
                    show_notices()
                bar.update(task, completed=n)
            scored = score_round(rnd, progress, spill_dir=out_dir if out_dir.is_dir() else None,
                                 workers=workers, cluster=cluster)
    finally:
        show_notices()
    elapsed = time.time() - started
    run_meta = {"agrade_version": __version__, "round": str(round_path), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                "seconds": round(elapsed, 3), "organizations": len(rnd.organizations),
                "host": platform.node(), "python": sys.version.split()[0],
                "notices": [str(n) for n in rnd.notices]}
    try:
        write_result_set(out_dir, scored.write_json, scored.write_csv, run_meta, state=scored.write_state)
    finally:
        scored.close()
    if not quiet:
        _print_summary(scored.header, out_dir, elapsed)
    return scored.header


def _print_summary(payload: dict, out_dir: Path, elapsed: float):
    s = payload["summary"]
    # Text objects and a markup-free console: titles and names are shown exactly as typed
    t = Table(title=Text(f"{payload['round']['title']}：定档结果"), show_lines=False)
    t.add_column("档次")
    t.add_column("组织数", justify="right")
    # tiers by name (A档, 五星级党组织), in the standards' order as the summary lists them
    names = tier_names_of(payload)
    for tier, n in s["tiers"].items():
        t.add_row(Text(STATUS_ZH["not_graded"] if tier == "not_graded" else names.get(tier, str(tier))), str(n))
    out.print(t)
    for row in s.get("target") or []:
        mark = "达标" if row["met"] else "未达标"
        where = scope_label(row.get("scope") or "round", row.get("value") or "")
        out.print(f"目标 {names.get(row['tier'], row['tier'])}占比 ≥ {pct(row['target'], 2)}"
                  f"（{where}）：{row['count']}/{row['graded']} = {pct(row['share'])} {mark}", markup=False)
    for row in payload.get("distribution") or []:       # declared tier shares, as allocated
        where = scope_label(row.get("scope") or "round", row.get("value") or "")
        out.print(distribution_line(row, names.get(row["tier"], row["tier"]), where), markup=False)
    if payload.get("ranking"):
        out.print(payload["ranking"]["description"], markup=False)
    out.print(f"{s['organizations']} 个组织，{s['graded']} 个已定档，用时 {elapsed:.1f} 秒 → {out_dir}/results.json",
              markup=False)


@app.command()
@command
def evaluate(round_file: Path = typer.Argument(..., metavar="ROUND.yaml", help=ROUND_HELP),
             out_dir: Path = typer.Option(..., "--out", help=RESULTS_OUT_HELP),
             quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
             workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
             cluster: Optional[str] = typer.Option(None, "--cluster", metavar="tcp://HOST:PORT", help=CLUSTER_HELP)):
    """评估一个考评轮次 — evaluate a round and write its results."""
    evaluate_to(round_file, out_dir, quiet, workers, cluster)


# ------------------------------------------------------------------ bulletin

def bulletin_dirs(paths: list[Path], out_dir: Path) -> list[Path]:
    """--previous: results folders, or a folder of them (a bulletins folder: each sub-folder
    holding a results.json is one earlier bulletin); the folder being written is left out."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir() and not (p / "results.json").exists():
            subs = sorted(q for q in p.iterdir() if (q / "results.json").exists())
            if not subs:
                raise InputError(Issue(str(p), 0, 0, "--previous", "neither a results folder nor a folder of them"))
            found += subs
        else:
            found.append(p)
    out = Path(out_dir).resolve()
    return [p for p in dict.fromkeys(found) if p.resolve() != out]


def bulletin_to(round_path: Path, as_of, out_dir: Path, previous: list[Path] = (), quiet: bool = False,
                workers: int | None = None, cluster: str | None = None) -> dict:
    """`agrade bulletin`: the round scored as of a date, compared with earlier bulletins."""
    from .intake.rounds import load_round
    from .scoring.bulletin import score_bulletin
    from .scoring.results import write_result_set

    check_out_dir(out_dir)
    started = time.time()
    rnd = load_round(round_path)
    try:
        with _progress(f"通报评估中（截至{date_text(as_of)}）", quiet) as bar:
            task = bar.add_task("bulletin", total=len(rnd.organizations))
            scored = score_bulletin(rnd, as_of, bulletin_dirs(previous, out_dir),
                                    spill_dir=out_dir if out_dir.is_dir() else None, workers=workers, cluster=cluster,
                                    progress=lambda n, total: bar.update(task, completed=n))
    finally:
        print_notices(rnd.notices)
    run_meta = {"agrade_version": __version__, "round": str(round_path), "as_of": as_of.isoformat(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                "seconds": round(time.time() - started, 3), "organizations": len(rnd.organizations),
                "host": platform.node(), "python": sys.version.split()[0], "notices": [str(n) for n in rnd.notices]}
    try:
        write_result_set(out_dir, scored.write_json, scored.write_csv, run_meta, state=scored.write_state)
    finally:
        scored.close()
    if not quiet:
        _print_summary(scored.header, out_dir, time.time() - started)
        if scored.header["bulletin"]["moves"]:
            out.print(movement_line(scored.header["bulletin"]), markup=False)
    return scored.header


def movement_line(bulletin: dict) -> str:
    """A bulletin's movement against the one before it, dated as documents date it."""
    return (f"与{date_text(bulletin['previous'][-1]['as_of'])}通报相比：" +
            "，".join(f"{k} {n}" for k, n in bulletin["moves"].items()))


def _as_of_date(text: str):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(Issue("--as-of", 0, 0, "$", f"not a date: {text!r} (expected YYYY-MM-DD)")) from None


@app.command()
@command
def bulletin(round_file: Path = typer.Argument(..., metavar="ROUND.yaml", help=ROUND_HELP),
             as_of: str = typer.Option(..., "--as-of", metavar="YYYY-MM-DD", help="通报截止日（考评期内）— the as-of date"),
             out_dir: Path = typer.Option(..., "--out", help=RESULTS_OUT_HELP),
             previous: List[Path] = typer.Option([], "--previous", metavar="DIR",
                                                 help="此前各期通报的结果目录（可重复，或一个存放各期的目录）— earlier bulletins"),
             quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
             workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
             cluster: Optional[str] = typer.Option(None, "--cluster", metavar="tcp://HOST:PORT", help=CLUSTER_HELP)):
    """每月通报排队：按截止日评估 — the round as of a date inside its period, with movement."""
    bulletin_to(round_file, _as_of_date(as_of), out_dir, previous, quiet, workers, cluster)


# ------------------------------------------------------------------ rescore

@app.command()
@command
def rescore(round_file: Path = typer.Argument(..., metavar="ROUND.yaml", help=ROUND_HELP),
            org_ids: List[str] = typer.Argument(..., metavar="ORG...", help="组织编号 — organization ids"),
            results_dir: Path = typer.Option(..., "--results", help=RESULTS_DIR_HELP),
            quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)):
    """重新评分个别组织（如申诉改正证据后）— re-score organizations whose evidence changed, in place."""
    from .intake.rounds import load_round
    from .scoring.rescore import load_state, waivers_changed, waivers_state
    from .scoring.results import write_result_set
    from .scoring.run import evidence_of, with_round_overrides
    started = time.time()
    rnd = load_round(round_file)
    standards = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    state = load_state(results_dir, rnd, standards)
    try:
        # a waiver approved, changed or withdrawn since the evaluation changed its organization's
        # points: that organization is scored again too, or the results would mix the two
        waived = [oid for oid in waivers_changed(state.scored.header, rnd.waivers, results_dir)
                  if oid not in org_ids]
        ids = list(dict.fromkeys(list(org_ids) + waived))
        evidence, digest, n_files = evidence_of(rnd, ids, standards)
        state.scored.header.update(evidence_digest=digest, evidence_files=n_files, waivers=waivers_state(rnd.waivers))
        print_notices(rnd.notices)
        if waived and not quiet:
            out.print(f"免考核事项自评估以来有变化，一并重新评分：{'、'.join(waived)}", markup=False)
        by_id = {o.id: o for o in rnd.organizations}
        changes = [state.rescore(by_id[oid], evidence[oid]) for oid in ids]
        run_meta = {"agrade_version": __version__, "round": str(round_file),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                    "rescored": ids, "organizations": len(rnd.organizations),
                    "host": platform.node(), "python": sys.version.split()[0], "notices": [str(n) for n in rnd.notices]}
        scored = state.scored
        write_result_set(results_dir, scored.write_json, scored.write_csv, run_meta, state=scored.write_state)
    finally:
        state.scored.close()
    if not quiet:
        titles = state.titles()
        names = tier_names(state.scored.standards)          # tiers by name, as documents print them

        def tier(tid):
            return names.get(tid, tid) if tid else STATUS_ZH["not_graded"]
        for c in changes:
            b, a = c.before, c.after
            out.print(f"{c.organization}：总分 {num(b['total'])} → {num(a['total'])}，档次 {tier(b['tier'])} → "
                      f"{tier(a['tier'])}，全域排名 {b['rank']['round'] or '—'} → {a['rank']['round'] or '—'}", markup=False)
            for oid, what in sorted(c.others.items()):
                parts = []
                for k, (was, now) in what.items():
                    if k == "tier":
                        parts.append(f"档次 → {tier(now)}")
                    elif k == "rank":
                        parts.append(f"排名 → {now['round'] or '—'}")
                    elif k.startswith("designation:"):
                        parts.append(f"{'认定为' if now else '不再认定为'}{titles[k]}")
                    else:
                        parts.append(f"{'列入' if now else '移出'}{titles[k]}")
                out.print(f"  随之变化：{oid} " + "，".join(parts), markup=False)
        out.print(f"重新评分 {len(changes)} 个组织，{sum(len(c.others) for c in changes)} 个其他组织随之变化，"
                  f"用时 {time.time() - started:.1f} 秒 → {results_dir}/results.json", markup=False)


# ------------------------------------------------------------------ whatif

@app.command()
@command
def whatif(round_file: Path = typer.Argument(..., metavar="ROUND.yaml", help=ROUND_HELP),
           sets: List[str] = typer.Option(..., "--set", metavar="PATH=VALUE",
                                          help="假设修改标准中的一项（可重复），如 G4.1.bands[0].min=400、grading.tiers[0].min=92、"
                                               "community:G3.5.value=3 — change the standard (repeatable)"),
           out_dir: Optional[Path] = typer.Option(None, "--out", help="把结果写成 whatif.xlsx 的目录 — folder for whatif.xlsx"),
           results: Optional[Path] = typer.Option(None, "--results", metavar="DIR",
                                                  help="本轮 agrade evaluate 的结果目录：其余沿用其结果，只重算所改指标；只调整档次线、"
                                                       "比例控制或目标时不重读证据 — this round's results: only the edited criteria "
                                                       "are scored; tier lines, quotas and targets without reading evidence"),
           limit: int = typer.Option(30, "--limit", min=0,
                                     help="终端中每类最多列出的组织数（0 为全部）— organizations listed per direction (0: all)"),
           quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
           workers: Optional[int] = typer.Option(None, "--workers", min=1, help=WORKERS_HELP)):
    """假设分析：改动标准后重新评分，列出档次变化 — re-score the round with a changed standard; who changes tier."""
    from .intake.rounds import load_round
    from .scoring.whatif import whatif as run_whatif
    if out_dir is not None:
        check_out_dir(out_dir)
    started = time.time()
    rnd = load_round(round_file)
    try:
        with _progress("假设分析", quiet) as bar:
            task = bar.add_task("whatif", total=len(rnd.organizations))
            answer = run_whatif(rnd, sets, lambda n, total: bar.update(task, completed=n), workers, results)
    finally:
        print_notices(rnd.notices)
    for note in answer.notes:
        err.print(f"注意：{note}", markup=False)
    if out_dir is not None:
        _write_whatif(answer, out_dir)
    if not quiet:
        _print_whatif(answer, limit, time.time() - started, out_dir)


def _write_whatif(answer, out_dir: Path) -> None:
    """whatif.xlsx: the same answer as printed, every organization listed."""
    from .reports.tables import Table, to_xlsx
    from .scoring.results import write_atomically
    from .scoring.whatif import sheets
    tables = [Table(name, columns, rows) for name, columns, rows in sheets(answer)]
    # dated like the round's other workbooks (its period's start), so the same answer is the same bytes
    data = to_xlsx(tables, title=f"{answer.round['title']}：假设分析", author=answer.round["issuer"],
                   when=answer.round["period"][0])
    write_atomically(out_dir, {"whatif.xlsx": data})


def _print_whatif(answer, limit: int, elapsed: float, out_dir: Path | None) -> None:
    from .scoring.whatif import shown_value
    out.print("假设调整：", markup=False)
    for c in answer.changes:
        out.print(f"  {c['title']}：{c['path']} {shown_value(c['before'])} → {shown_value(c['after'])}", markup=False)
    out.print(f"{'重新定档' if answer.method == 'rows' else '重新评分'} {answer.organizations} 个组织，"
              f"{answer.totals_changed} 个总分变化；"
              f"升档 {answer.up} 个，降档 {answer.down} 个", markup=False)
    for direction, label in (("up", "升档"), ("down", "降档")):
        moved = [m for m in answer.moves if m.direction == direction]
        if not moved:
            continue
        out.print(f"{label}（{len(moved)}）：", markup=False)
        for m in moved[: limit or None]:
            out.print(f"  {m.id} {m.name}：{m.tier_before or STATUS_ZH['not_graded']} → {m.tier_after or STATUS_ZH['not_graded']}，"
                      f"总分 {num(m.total_before)} → {num(m.total_after)}", markup=False)
        if limit and len(moved) > limit:
            rest = f"，完整名单见 {out_dir / 'whatif.xlsx'}" if out_dir is not None else "，用 --limit 0 或 --out 查看全部"
            out.print(f"  ……另有 {len(moved) - limit} 个{rest}", markup=False)
    for t in answer.targets:
        yes = {True: "达标", False: "未达标"}
        out.print(f"目标 {t['tier']}占比 ≥ {pct(t['target'], 2)}（{t['where']}）：{t['count_before']}/{t['graded_before']} = "
                  f"{pct(t['before'])}（{yes[t['met_before']]}）→ {t['count_after']}/{t['graded_after']} = "
                  f"{pct(t['after'])}（{yes[t['met_after']]}）", markup=False)
    how = {"rows": "由已有评估结果的压缩行重新定档，未重读证据；",
           "edited": "只重算所改指标，其余沿用已有评估结果；",
           "graded": "调整前沿用已有评估结果；"}.get(answer.method, "")
    out.print(f"用时 {elapsed:.1f} 秒" + (f" → {out_dir / 'whatif.xlsx'}" if out_dir is not None else "")
              + f"（{how}仅为假设，未写入任何结果）", markup=False)


# ------------------------------------------------------------------ explain

def find_organization(payload: dict, key: str, where: str) -> dict:
    """The organization whose id is `key`, else the one whose name is exactly `key`. A name
    several organizations share is refused with each of them on a line (id, street, tier,
    total), so the user can tell them apart and give the id."""
    orgs = payload["organizations"]
    org = next((o for o in orgs if o["id"] == key), None)
    if org is not None:
        return org
    named = [o for o in orgs if o.get("name") == key]
    if len(named) == 1:
        return named[0]
    if named:
        lines = "".join(f"\n  {o['id']}  {o.get('district', '')}{o.get('street', '')}  "
                        f"{o.get('tier_name') or STATUS_ZH['not_graded']}  总分 {num(o.get('total'))}" for o in named)
        raise InputError(Issue(where, 0, 0, "$", f"{len(named)} organizations are named '{key}': "
                               f"{', '.join(o['id'] for o in named)}; give one of these ids{lines}"))
    import difflib
    hint = difflib.get_close_matches(key, [o["id"] for o in orgs], 1, 0.5) or \
        difflib.get_close_matches(key, [o.get("name", "") for o in orgs], 1, 0.5)
    raise InputError(Issue(where, 0, 0, "$", f"no organization '{key}'" + (f"; did you mean '{hint[0]}'?" if hint else "")))


@app.command()
@command
def explain(results_dir: Path = typer.Argument(..., metavar="DIR", help=RESULTS_DIR_HELP),
            org_id: str = typer.Argument(..., metavar="ORG", help="组织编号或名称（名称可只写一部分）— organization id or name")):
    """解释某组织的每一分和档次 — why an organization got each point and its tier."""
    from .scoring.explain import explain_text
    from .scoring.results import load_results, results_file
    path = results_file(results_dir)
    try:
        payload = load_results(results_dir)
        org = find_organization(payload, org_id, str(path))
    except InputError as e:
        for i in e.issues:
            err.print(f"{i.file}: {i.message}", markup=False)
        raise typer.Exit(2)
    out.print(explain_text(payload, org), markup=False)


# ------------------------------------------------------------------ test

@app.command("test")
@command
def test_cmd(standards: List[str] = typer.Argument(None, help="标准编号（默认全部）— standard ids (default: all)"),
             rules: List[Path] = typer.Option([], "--rules", help="另外存放标准及其用例的目录 — extra folders with standards and cases")):
    """运行标准自带的测试用例 — run the standards' golden cases."""
    from .scoring.cases import run_all
    from .resources import rules_dir
    dirs = list(rules) + [rules_dir()]
    skipped: list = []
    results = run_all(dirs, standards or (), skipped)
    for sid in sorted({c.standard for c, _ in skipped}):
        where = next(f for c, f in skipped if c.standard == sid)
        n = sum(1 for c, _ in skipped if c.standard == sid)
        err.print(f"注意：{sid} 的 {n} 个用例未运行（它们是为随附的标准编写的，本次使用的是 {where}）"
                  f" — {n} case(s) of {sid} skipped: {where} replaces the standard they were written for", markup=False)
    failed = 0
    for r in results:
        if r.failures:
            failed += 1
            out.print(f"FAIL {r.case.id}  ({r.case.file}:{r.case.line})", markup=False)
            for f in r.failures:
                out.print(f"     {f}", markup=False)
        else:
            out.print(f"PASS {r.case.id}", markup=False)
    out.print(f"{len(results) - failed} passed, {failed} failed", markup=False)
    if failed or not results:
        raise typer.Exit(1)


# ------------------------------------------------------------------ demo / report

@app.command()
@command
def demo(out_dir: Path = typer.Option(..., "--out", help="示例轮次、结果和报告的目录 — folder for the demo round, results and reports"),
         orgs: int = typer.Option(2000, "--orgs", min=1, help="示例区的基层党组织数 — organizations in the demo district"),
         seed: int = typer.Option(2026, "--seed", help="随机种子（同一种子生成同样的数据）— random seed (same seed, same data)"),
         reports: bool = typer.Option(True, "--reports/--no-reports", help="同时生成报告 — also render the reports"),
         scorecards: int = typer.Option(40, "--scorecards", min=0,
                                        help="生成测评报告的份数（排名前后、否决、不予定档各举例；0 为全部）— scorecards to render: "
                                             "the best and worst ranked plus vetoed and ungraded examples; 0 renders every organization's"),
         store: bool = typer.Option(True, "--store/--no-store",
                                    help="另在数据库中走完一个小轮次的全过程 — also walk a small round through its whole life in the database"),
         store_orgs: int = typer.Option(200, "--store-orgs", min=3,
                                        help="数据库中走完全过程的组织数 — organizations of the round walked in the database"),
         db: Optional[str] = typer.Option(None, "--db", metavar="URL",
                                          help="数据库（默认 AGRADE_DB 或 ./agrade.db）— the database (default AGRADE_DB or ./agrade.db)"),
         bulletins: int = typer.Option(0, "--bulletins", min=0, max=12,
                                       help="也按月发布前 N 期通报（每月通报排队）— also issue monthly bulletins for the first N months")):
    """生成并评估一个示例区的考评轮次 — generate, evaluate and report a realistic demo round; walk a
    small one through its life (inspection, bulletins, appeal, publication) in the database."""
    from .demo import generate
    check_out_dir(out_dir)
    round_path = generate(out_dir / "round", orgs, seed)
    out.print(f"示例轮次已生成：{round_path}", markup=False)
    evaluate_to(round_path, out_dir / "results")
    from .scoring.results import load_results
    payload = load_results(out_dir / "results")
    if reports:
        only = demo_sample(payload, scorecards) if scorecards else None
        _report(out_dir / "results", out_dir / "reports", None, None, False, None, None, only)
        from .cli_authoring_doc import write_round_docs      # the rules that scored, as published
        docs = write_round_docs(round_path, out_dir / "reports" / "考评细则")
        out.print(f"考评细则：{len(docs)} 个文件 → {out_dir / 'reports' / '考评细则'}", markup=False)
    out.print(f"下一步：agrade explain {out_dir / 'results'} {payload['organizations'][0]['id']}", markup=False)
    if bulletins:
        demo_bulletins(round_path, out_dir, bulletins, payload, reports)
    if store:
        from .store.base import Store
        from .store.demo import walk
        db_store = Store(db)
        out.print(f"\n数据库中的轮次全过程（{db_store.where}）：", markup=False)
        rid = walk(db_store, out_dir, store_orgs, seed, lambda t: out.print(t, markup=False))
        if rid:
            out.print(f"下一步：agrade round status {rid}；agrade audit verify", markup=False)


def month_ends(period_from, n: int) -> list:
    """The last days of the round's first n months (bulletins are issued at month ends)."""
    import datetime as dt
    out = []
    y, m = period_from.year, period_from.month
    for _ in range(n):
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(dt.date(y, m, 1) - dt.timedelta(days=1))
    return out


def demo_bulletins(round_path: Path, out_dir: Path, n: int, final: dict, reports: bool) -> list[Path]:
    """agrade demo --bulletins N: the round's bulletins at the end of each of its first N months
    (out_dir/bulletins/<as-of>), each compared with the ones before it, and a yearly item that
    is 未到期 in the first and scored in the round's own evaluation (`final`)."""
    import datetime as dt
    start = dt.date.fromisoformat(final["round"]["period"]["from"])
    end = dt.date.fromisoformat(final["round"]["period"]["to"])
    done: list[Path] = []
    out.print("\n每月通报排队：", markup=False)
    for as_of in [d for d in month_ends(start, n) if d <= end]:
        folder = out_dir / "bulletins" / as_of.isoformat()
        header = bulletin_to(round_path, as_of, folder, list(done), quiet=True)
        b = header["bulletin"]
        moves = "，".join(f"{k} {v}" for k, v in b["moves"].items() if v) if b["moves"] else "首期"
        out.print(f"  截至{date_text(as_of)}：{folder}（{moves}）", markup=False)
        done.append(folder)
    if done:
        _yearly_example(done[0], final)
        if reports:
            # the 通报 with its movement chart, and a few scorecards with their trend lines
            _report(done[-1], done[-1] / "reports", "summary,scorecards", "pdf,html", False, None, None,
                    demo_sample(final, 6))
            out.print(f"  最新一期通报：{done[-1] / 'reports'}", markup=False)
    return done


def _yearly_example(first: Path, final: dict) -> None:
    """One organization's yearly item: 未到期 in the first bulletin, scored at the period end."""
    from .scoring.results import load_results
    early = load_results(first)
    at_end = {o["id"]: {c["id"]: c for c in o["criteria"]} for o in final["organizations"]}
    for o in early["organizations"]:
        for c in o["criteria"]:
            later = at_end.get(o["id"], {}).get(c["id"])
            if c["outcome"] == "not_due" and later and later["outcome"] != "not_due" and "每年" in c["reason"]:
                out.print(f"  {o['name']} {c['id']} {c['title']}：截至{date_text(early['round']['as_of'])}未到期；"
                          f"考评期末（{date_text(final['round']['period']['to'])}）得 {num(later['points'])}/{num(later['max_points'])} 分",
                          markup=False)
                return


def demo_sample(payload: dict, n: int) -> list[str]:
    """A readable selection of scorecards: the top and bottom of the ranking, and a few vetoed,
    quota-demoted and ungraded organizations, at most n."""
    orgs = payload["organizations"]
    graded = [o for o in orgs if o["status"] == "graded"]
    picks = [o["id"] for o in graded[: n // 3]] + [o["id"] for o in graded[-(n // 3):]] if n >= 3 else [graded[0]["id"]]
    extras = ([o["id"] for o in orgs if o["vetoes"]][:3] + [o["id"] for o in orgs if o["tier"] != o["tier_before_quota"] and o["tier"]][:2]
              + [o["id"] for o in orgs if o["status"] != "graded"][:3])
    chosen = list(dict.fromkeys(picks + extras + [o["id"] for o in graded]))
    return chosen[:n]


def _report(results_dir, out_dir, kind, fmt, public, workers, previous=None, only=None, cluster=None, bundle=(),
            quiet=False):
    try:
        from .reports import render_reports
    except ImportError as e:
        err.print(f"reports are not available: {e}", markup=False)
        raise typer.Exit(1)
    kinds = tuple(k.strip() for k in kind.split(",")) if kind else ("scorecards", "summary", "lists")
    formats = tuple(f.strip() for f in fmt.split(",")) if fmt else ("pdf", "html", "xlsx", "csv")
    from .reports.render import RenderError
    try:
        with _progress("生成报告", quiet) as bar:
            task = bar.add_task("report", total=None)
            written = render_reports(results_dir, out_dir, kinds=kinds, formats=formats, public=public,
                                     workers=workers, previous_results=previous, only=only, cluster=cluster,
                                     bundle=bundle, progress=lambda n, total: bar.update(task, completed=n, total=total))
    except RenderError as e:            # a document that cannot be drawn: named, nothing written
        err.print(f"{e}; no report was written.", markup=False)
        raise typer.Exit(1)
    if not quiet:
        out.print(f"报告已生成：{len(written)} 个文件 → {out_dir}", markup=False)


@app.command()
@command
def report(results_dir: Path = typer.Argument(..., metavar="RESULTS_DIR", help=RESULTS_DIR_HELP),
           out_dir: Path = typer.Option(..., "--out", help="写出报告的目录 — folder for the documents"),
           kind: Optional[str] = typer.Option(None, "--kind", help="报告种类：测评报告、通报、红黑榜（默认全部）— "
                                                                   "scorecards,summary,lists (default: all)"),
           fmt: Optional[str] = typer.Option(None, "--format", help="格式（默认全部）— pdf,html,xlsx,csv (default: all)"),
           public: bool = typer.Option(False, "--public", help="公开发布版：不含证据细节和人名 — public release: no "
                                                               "evidence details or personal names"),
           workers: Optional[int] = typer.Option(None, "--workers", help=WORKERS_HELP),
           previous: Optional[Path] = typer.Option(None, "--previous", help="上一轮的结果目录，用于升档/降档 — last round's "
                                                                            "results, for tier movement"),
           only: Optional[str] = typer.Option(None, "--only", help="只生成这些组织的测评报告（编号，逗号分隔）— scorecards "
                                                                   "for these organization ids only (comma-separated)"),
           cluster: Optional[str] = typer.Option(None, "--cluster", metavar="tcp://HOST:PORT",
                                                 help="在 Dask 集群上生成 — render the documents on a Dask distributed cluster"),
           bundle: Optional[str] = typer.Option(None, "--bundle", metavar="street,district",
                                                help="测评报告按街道、区县打包 — also zip the scorecards, one zip per "
                                                     "street and/or per district (bundles/街道/, bundles/区县/)"),
           quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)):
    """生成测评报告、通报和红黑榜 — render scorecards, the round summary and red/black lists."""
    check_out_dir(out_dir)
    _report(results_dir, out_dir, kind, fmt, public, workers, previous,
            [x.strip() for x in only.split(",") if x.strip()] if only else None, cluster,
            tuple(x.strip() for x in bundle.split(",") if x.strip()) if bundle is not None else (), quiet)


@app.command()
@command
def template(round_file: Path = typer.Argument(..., metavar="ROUND.yaml", help=ROUND_HELP),
             out_file: Path = typer.Option(..., "--out", help="证据采集表 .xlsx — the workbook to write"),
             street: Optional[str] = typer.Option(None, "--street", metavar="区县/街道",
                                                  help="只含该街道的组织（分发给街道）— only this street's organizations"),
             self_only: bool = typer.Option(False, "--self-only", help="自评表：不含核查列 — without the inspectors' columns"),
             force: bool = typer.Option(False, "--force", help="覆盖已有文件 — replace an existing file"),
             quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP)):
    """生成证据采集表（Excel） — write the evidence workbook departments fill in."""
    import os
    import tempfile
    from .intake.evidence import Streets, street_name
    from .intake.rounds import load_round
    from .reports.template_xlsx import round_template
    if out_file.suffix.lower() != ".xlsx":
        raise InputError(Issue(str(out_file), 0, 0, "--out", f"证据采集表须为 .xlsx 文件，而不是“{out_file.name}”"))
    if out_file.exists() and not force:      # it may hold evidence already filled in
        raise InputError(Issue(str(out_file), 0, 0, "--out", "文件已存在（可能已填写数据）；换一个文件名，或加 --force 覆盖"))
    with _progress("生成证据采集表", quiet) as bar:
        bar.add_task("template", total=None)
        rnd = load_round(round_file)
        orgs, part = None, ""
        if street is not None:           # a workbook per street, as departments hand them out
            key, why = Streets(rnd.organizations).find(street)
            if key is None:
                raise InputError(Issue(str(round_file), 0, 0, "--street", why))
            orgs = [o for o in rnd.organizations if (o.district, o.street) == key]
            part = street_name("/".join(key))
        data, sheets = round_template(rnd, orgs, self_only, part)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".agrade-template-", suffix=".xlsx", dir=out_file.parent)
    try:                                     # written whole or not at all
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out_file)
    except BaseException:
        os.unlink(tmp)
        raise
    wide = sheets[1:-4]                      # between 填表说明 and the records, street, street records and options sheets
    if not quiet:
        out.print(f"证据采集表：{out_file}（{len(wide)} 个领域工作表：{'、'.join(s.title for s in wide)}，"
                  f"{sum(len(s.rows) for s in wide)} 个组织；另有会议活动记录、街道统一填报、街道会议活动记录、填表说明）", markup=False)


@app.command()
@command
def version():
    """显示版本 — print the version."""
    out.print(__version__, markup=False)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"agrade {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                          help="显示版本后退出 — print the version and exit")) -> None:
    pass


def run(argv: list[str]) -> int:
    """Run the CLI with `argv`; returns the exit code (for tests and scripts)."""
    try:
        rc = app(argv, prog_name="agrade", standalone_mode=False)
        return rc if isinstance(rc, int) else 0
    except typer.Exit as e:
        return e.exit_code
    except Exception as e:
        if hasattr(e, "show") and hasattr(e, "exit_code"):   # usage errors from typer's click
            e.show()
            return e.exit_code
        raise


def main() -> None:
    try:
        app(prog_name="agrade")
        code = 0
    except SystemExit as stop:
        code = stop.code
    _leave(code)


def _leave(code) -> None:
    """Exit with `code` as sys.exit would, without tearing the interpreter down when nothing
    is left to wait for: after `evaluate` of 20,000 organizations, the final collection and
    the modules' teardown took 0.1-0.2 s of a process whose work was done (alone on a core
    after the workers, about 2% of a two-worker run). The exit handlers still run (temporary
    files, multiprocessing's finalizers and its wait for child processes, logging), and the
    standard streams are flushed; with a thread still alive the exit is the ordinary one,
    which waits for it."""
    import atexit
    import os
    import threading
    if not isinstance(code, int):            # (a bool is one: sys.exit(True) is status 1)
        if code is not None:                 # a message, as sys.exit prints it
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    # a thread still running is joined by the interpreter's shutdown, not by an exit handler;
    # child processes are (multiprocessing's handler waits for them as an ordinary exit does)
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):        # a closed pipe: what sys.exit would have met too
            code = code or 120
    os._exit(code)


# the store's commands (agrade round/evidence/appeal/waiver/audit/history) register on `app`
from . import cli_round  # noqa: E402,F401
# the authoring commands (agrade doc, agrade diff) register on `app`
from . import cli_authoring_doc  # noqa: E402,F401
