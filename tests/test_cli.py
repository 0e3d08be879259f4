"""The command line: exit codes and the exact messages people see for bad input."""

import json
import re

from conftest import FIXTURES, run_cli


def test_validate_ok(mini):
    code, out, err = run_cli("validate", mini / "mini.yaml", mini / "round.yaml", mini / "evidence" / "c1.yaml")
    assert (code, err) == (0, "")
    assert "OK: 3 file(s) valid." in out


def test_evaluate_writes_results_and_explain_reads_them(mini, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run_cli("evaluate", mini / "round.yaml", "--out", out_dir)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["results.csv", "results.json", "run.json", "state.jsonl"]
    assert "3 个组织，3 个已定档" in out
    code, out, _ = run_cli("validate", out_dir)            # agrade's own output validates too
    assert (code, out.strip()) == (0, "OK: 2 file(s) valid.")
    code, out, _ = run_cli("explain", out_dir, "C1")
    assert code == 0
    assert "总分 95 = 基础得分 92 + 加分 3  档次 A档" in out
    assert "党群服务中心面积：自报 520 平方米，核查 480 平方米，超出允许误差" in out
    code, _, err = run_cli("explain", out_dir, "C11")
    assert code == 2 and "no organization 'C11'; did you mean 'C1'?" in err


def test_duplicate_key_in_evidence(mini, tmp_path):
    p = mini / "evidence" / "c1.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("  grid_staff: 10\n", "  grid_staff: 10\n  grid_staff: 11\n"), encoding="utf-8")
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")
    assert code == 2
    assert err.splitlines()[0] == f"{p}:6:3: $.values.grid_staff: duplicate key 'grid_staff' (first defined on line 5)"
    assert not (tmp_path / "out").exists()


def test_alias_bomb_is_refused(mini, tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    p = mini / "evidence" / "bomb.yaml"
    p.write_text(bomb, encoding="utf-8")
    code, _, err = run_cli("validate", p)
    assert code == 2
    assert err.splitlines()[0].startswith(f"{p}:1:4: ")
    assert "anchors and aliases are not allowed" in err.splitlines()[0]


def test_extends_cycle(tmp_path):
    (tmp_path / "a.yaml").write_text("id: a\nversion: '1'\ntitle: A\nextends: b\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("id: b\nversion: '1'\ntitle: B\nextends: a\n", encoding="utf-8")
    code, _, err = run_cli("validate", tmp_path / "a.yaml")
    assert code == 2
    assert err.splitlines()[0] == f"{tmp_path / 'b.yaml'}:4:1: $.extends: 'extends' cycle: a -> b -> a"


def test_unknown_evidence_field(mini, tmp_path):
    p = mini / "evidence" / "c1.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("  grid_staff: 10\n", "  grid_staf: 10\n"), encoding="utf-8")
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")
    assert code == 2
    assert err.splitlines()[0] == f"{p}:5:3: $.values.grid_staf: unknown field 'grid_staf' for standard 'mini'; did you mean 'grid_staff'?"


def test_wrong_type_and_bad_unit_in_bulk_csv(mini, tmp_path):
    p = mini / "evidence" / "bulk_values.csv"
    text = p.read_text(encoding="utf-8").replace("C2,centre_area,600㎡", "C2,centre_area,600人").replace("C3,members_full,5", "C3,members_full,五个")
    p.write_text(text, encoding="utf-8")
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")
    lines = err.splitlines()
    assert code == 2
    assert lines[0] == f"{p}:3:3: row 3.self: 党群服务中心面积（centre_area）: '600人' has unit '人', expected 'm2' (平方米)"
    assert lines[1].startswith(f"{p}:9:3: row 9.self: 正式党员人数（members_full）: '五个'")
    assert lines[-1] == "2 problem(s) found; nothing was evaluated or written."


def test_negative_area_and_impossible_date(mini, tmp_path):
    p = mini / "evidence" / "bulk_values.csv"
    p.write_text(p.read_text(encoding="utf-8").replace("C3,centre_area,350", "C3,centre_area,-350"), encoding="utf-8")
    r = mini / "evidence" / "bulk_records.csv"
    r.write_text(r.read_text(encoding="utf-8").replace("2026/2/5", "2026/2/30"), encoding="utf-8")
    code, _, err = run_cli("validate", mini / "round.yaml")
    assert code == 2
    assert "'-350' is below the minimum 0" in err
    assert "'2026/2/30' is not a valid date" in err


def test_failed_run_leaves_previous_results_untouched(mini, tmp_path):
    out_dir = tmp_path / "out"
    assert run_cli("evaluate", mini / "round.yaml", "--out", out_dir)[0] == 0
    before = (out_dir / "results.json").read_bytes()
    p = mini / "evidence" / "c1.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("members_full: 12", "members_full: -1"), encoding="utf-8")
    assert run_cli("evaluate", mini / "round.yaml", "--out", out_dir)[0] == 2
    assert (out_dir / "results.json").read_bytes() == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["results.csv", "results.json", "run.json", "state.jsonl"]


def test_registry_errors(mini, tmp_path):
    (mini / "orgs.csv").write_text("id,name,type,district,street,parent\nC1,甲,社区,东区,一街道,\nC1,乙,社群,东区,一街道,\n", encoding="utf-8")
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")
    assert code == 2
    assert err.splitlines()[0] == f"{mini / 'orgs.csv'}:3:1: row 3.id: duplicate organization id 'C1' (first on line 2)"


def test_golden_case_command_reports_failures(tmp_path):
    import shutil
    shutil.copy(FIXTURES / "mini" / "mini.yaml", tmp_path / "mini.yaml")
    (tmp_path / "mini.cases.yaml").write_text("""standard: mini
period: {from: 2026-01-01, to: 2026-12-31}
cases:
  - name: 空材料
    organization: {id: T1, type: community}
    evidence: {values: {serious_violation: 否}}
    expect: {status: not_graded, outcomes: {G1.1: not_reviewed}}
  - name: 故意写错
    organization: {id: T2, type: community}
    evidence: {values: {serious_violation: 是}}
    expect: {vetoes: []}
""", encoding="utf-8")
    code, out, _ = run_cli("test", "mini", "--rules", tmp_path)
    assert code == 1
    assert "PASS mini::空材料" in out
    assert "FAIL mini::故意写错" in out and "vetoes: expected [], got ['G9.2']" in out
    assert "1 passed, 1 failed" in out


def test_list_rules_are_checked_before_evaluation_at_their_line(mini, tmp_path):
    p = mini / "round.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "lists:\n  black:\n    include_any: [\"veto_count > 0\", \"tieer == 'D'\"]\n", encoding="utf-8")
    code, _, err = run_cli("evaluate", p, "--out", tmp_path / "out")
    assert code == 2
    assert err.splitlines()[0] == (f"{p}:10:37: $.lists.black.include_any[1]: unknown name 'tieer'; did you mean 'tier'?: "
                                   "tieer == 'D' (column 1 of the expression)")
    assert not (tmp_path / "out").exists()


def test_validate_checks_what_evaluate_checks(mini):
    p = mini / "evidence" / "bulk_values.csv"
    p.write_text(p.read_text(encoding="utf-8") + "C9,members_full,5,,,\n", encoding="utf-8")
    code, _, err = run_cli("validate", mini / "round.yaml")
    assert code == 2 and "evidence for organization 'C9', which is not in the registry" in err


def test_round_refuses_misused_standards_and_bonus_waivers(mini):
    p = mini / "round.yaml"
    text = p.read_text(encoding="utf-8").replace("period: {from: 2026-01-01, to: 2026-12-31}", "period: {from: 2028-01-01, to: 2028-12-31}")
    p.write_text(text.replace("standards: {community: mini.yaml}", "standards: {community: mini.yaml, school: mini.yaml}"), encoding="utf-8")
    code, _, err = run_cli("validate", p)
    assert code == 2
    assert "standard 'mini' applies to community, not to 'school'" in err
    assert "standard 'mini' is in force from 2026-01-01 to 2026-12-31, but the round runs from 2028-01-01 to 2028-12-31" in err
    p.write_text(text.replace("2028", "2026") + "waivers: [{organization: C2, criterion: G9.1, reason: 测试}]\n", encoding="utf-8")
    code, _, err = run_cli("validate", p)
    assert code == 2 and "criterion 'G9.1' is a bonus criterion; only base criteria can be waived" in err


def test_cases_files_are_schema_checked_and_unknown_standards_named(tmp_path):
    import shutil
    shutil.copy(FIXTURES / "mini" / "mini.yaml", tmp_path / "mini.yaml")
    (tmp_path / "mini.cases.yaml").write_text("standard: mini\ncases:\n  - name: x\n    organization: {id: T, type: community}\n"
                                              "    expect: {totl: 99}\n", encoding="utf-8")
    code, _, err = run_cli("validate", tmp_path / "mini.cases.yaml")
    assert code == 2
    assert "missing required key 'period'" in err and "unknown key 'totl' (did you mean 'total'?)" in err
    code, _, err = run_cli("test", "comunity")
    assert code == 2 and "no golden cases for standard 'comunity'; did you mean 'community'?" in err


def test_a_standard_without_cases_is_not_its_own_suggestion(tmp_path):
    import shutil
    shutil.copy(FIXTURES / "mini" / "mini.yaml", tmp_path / "mini.yaml")
    code, _, err = run_cli("test", "mini", "--rules", tmp_path)
    assert code == 2
    assert "standard 'mini' has no golden cases (no mini.cases.yaml)" in err
    assert "did you mean 'mini'" not in err
    shutil.copy(FIXTURES / "mini" / "mini.yaml", tmp_path / "minj.yaml")   # a look-alike, also without cases
    code, _, err = run_cli("test", "minj", "--rules", tmp_path)
    assert code == 2 and "did you mean 'mini'" not in err and "did you mean 'minj'" not in err
    (tmp_path / "mini.cases.yaml").write_text("standard: mini\nperiod: {from: 2026-01-01, to: 2026-12-31}\ncases: []\n",
                                              encoding="utf-8")
    code, _, err = run_cli("test", "minj", "--rules", tmp_path)
    assert code == 2 and "standard 'minj' has no golden cases (no minj.cases.yaml); did you mean 'mini'?" in err


# ------------------------------------------------------------------ what people expect of a command line

def _all_commands():
    """Every command of `agrade`, sub-commands (agrade round …) included: (name, click command)."""
    import typer
    from evaluator.cli import app

    def walk(cmd, path):
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, f"{path} {name}")
    return list(walk(typer.main.get_command(app), "agrade"))


CHINESE_FIRST = re.compile(r"[\u4e00-\u9fff].*—\s*[A-Za-z]", re.S)      # 中文说明 — English text


def test_every_command_option_and_argument_has_a_chinese_help_with_the_english_kept():
    commands = _all_commands()
    # every parameter as the command shows it, --help included (get_params adds it)
    missing = [f"{name} {p.opts[0] if p.opts else p.name}: {getattr(p, 'help', None)!r}"
               for name, cmd in commands for p in cmd.get_params(cmd.context_class(cmd, info_name=name))
               if not CHINESE_FIRST.search(getattr(p, "help", None) or "")]
    missing += [f"{name}: {cmd.help!r}" for name, cmd in commands if not CHINESE_FIRST.search(cmd.help or "")]
    assert len(commands) > 30 and "agrade round collect" in dict(commands)     # the walk reaches agrade round …
    assert missing == []


HEADINGS = ("参数 Arguments:", "选项 Options:", "命令 Commands:")


def _help_entries(text: str) -> list[str]:
    """The entries of a --help page's Arguments, Options and Commands sections, each with its
    wrapped continuation lines joined (a long option's help may start on the line below it)."""
    entries: list[str] = []
    in_section = False
    for line in text.splitlines():
        if line in HEADINGS:
            in_section = True
        elif not line.strip():
            in_section = False
        elif in_section and re.match(r"  \S", line):
            entries.append(line.strip())
        elif in_section and entries:
            entries[-1] += " " + line.strip()
    return entries


def test_every_help_page_shows_each_entry_chinese_first():
    """What `agrade … --help` prints, page by page (agrade round … included): no entry is
    English only (typer's own --help line was: "Show this message and exit.")."""
    english_only = []
    for name, _ in _all_commands():
        code, out, err = run_cli(*name.split()[1:], "--help")
        assert code == 0, (name, err)
        entries = _help_entries(out)
        assert any(e.startswith("--help ") for e in entries), name
        english_only += [f"{name}: {e}" for e in entries
                         if not CHINESE_FIRST.search(e)]
    assert english_only == []


def agrade(capsys, *argv):
    """`agrade ARGV` as the console runs it (evaluator.cli.run: named agrade, not CliRunner's
    "root"); returns (exit code, stdout, stderr)."""
    from evaluator.cli import run
    capsys.readouterr()
    code = run([str(a) for a in argv])
    return (code, *capsys.readouterr())


def test_every_help_page_speaks_chinese_first_in_clicks_own_words_too(capsys):
    """The usage line and the section headings click writes are Chinese first on every page
    (agrade round … included), like the entries under them."""
    import typer
    for name, cmd in _all_commands():
        code, out, err = agrade(capsys, *name.split()[1:], "--help")
        assert code == 0, (name, err)
        lines = out.splitlines()
        assert lines[0].startswith(f"用法 Usage: {name} "), name
        wanted = ["参数 Arguments:"] * any(isinstance(p, typer.core.TyperArgument) for p in cmd.params)
        wanted += ["选项 Options:"] + ["命令 Commands:"] * hasattr(cmd, "commands")
        assert [line for line in lines if line.endswith(":") and not line.startswith(" ")] == wanted, name


def test_the_required_and_default_marks_are_chinese_first_on_every_page(capsys):
    """typer closes an entry with "[required]" or "[default: 2000; x>=1]": those words are
    Chinese first too, and only there (an option's own text may say "default: all")."""
    import re
    marks, english = 0, []
    for name, _ in _all_commands():
        out = " ".join(agrade(capsys, *name.split()[1:], "--help")[1].split())   # lines unwrapped
        for bracket in re.findall(r"\[[^\[\]]*\]", out):
            marks += "必填 required" in bracket or "默认 default:" in bracket
            if re.search(r"(?<!必填 )required|(?<!默认 )default:", bracket):
                english.append(f"{name}: {bracket}")
    assert english == [] and marks > 20
    out = " ".join(agrade(capsys, "report", "--help")[1].split())
    assert "(default: all)" in out                      # the option's own words are left as written


def test_a_bad_option_is_refused_chinese_first_with_the_usage_and_the_english_kept(capsys):
    code, out, err = agrade(capsys, "evaluate", "--bogus")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "用法 Usage: agrade evaluate [OPTIONS] {ROUND.yaml}",
        "运行 'agrade evaluate --help' 查看帮助 — Try 'agrade evaluate --help' for help.",
        "",
        "错误 Error: 没有这个选项 — No such option: --bogus (Possible options: --out)"]


def test_each_kind_of_usage_error_is_named_in_chinese(capsys):
    for argv, line in [
            (["evaluate"], "错误 Error: 缺少参数 — Missing argument 'ROUND.yaml'."),
            (["evaluate", "r.yaml"], "错误 Error: 缺少选项 — Missing option '--out'."),
            (["evaluate", "r.yaml", "--out"], "错误 Error: 选项用法有误 — Option '--out' requires an argument."),
            (["evaluate", "r.yaml", "--out", "o", "--workers", "0"], "错误 Error: 参数值无效 — Invalid value for '--workers'"),
            (["evaluat"], "错误 Error: 没有这个命令 — No such command 'evaluat'."),
            (["round", "nosuch"], "错误 Error: 没有这个命令 — No such command 'nosuch'."),
            (["version", "extra"], "错误 Error: 用法有误 — Got unexpected extra argument(s) (extra)")]:
        code, out, err = agrade(capsys, *argv)
        assert code == 2 and err.splitlines()[-1].startswith(line), (argv, err)
        assert not any(s.startswith(("Usage:", "Error:", "Try ")) for s in err.splitlines()), (argv, err)


def test_a_group_without_a_command_still_shows_its_help(capsys):
    code, out, err = agrade(capsys, "round")
    assert "用法 Usage: agrade round [OPTIONS] COMMAND [ARGS]..." in out + err and "错误" not in out + err


def test_version_option_prints_the_version():
    from evaluator import __version__
    code, out, _ = run_cli("--version")
    assert (code, out.strip()) == (0, f"agrade {__version__}")


def test_summary_names_tiers_as_documents_do(mini, tmp_path):
    code, out, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["A档", "D档"]
    assert "目标 A档占比 ≥ 20%（全域）：1/3 = 33.3% 达标" in out


def _terminal(monkeypatch):
    """The CLI's stderr as a terminal (a progress bar is drawn only there), into a buffer."""
    import io
    from rich.console import Console
    import evaluator.cli as cli
    buf = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=buf, force_terminal=True, width=100, markup=False))
    return buf


def test_progress_bars_show_on_a_terminal_and_not_with_quiet(mini, tmp_path, monkeypatch):
    from evaluator.cli import run
    buf = _terminal(monkeypatch)
    steps = [["evaluate", mini / "round.yaml", "--out", tmp_path / "a"],
             ["whatif", mini / "round.yaml", "--set", "G1.2.bands[0].min=400"],
             ["report", tmp_path / "a", "--out", tmp_path / "r", "--kind", "lists", "--format", "csv"],
             ["template", mini / "round.yaml", "--out", tmp_path / "t.xlsx", "--force"],
             ["bulletin", mini / "round.yaml", "--as-of", "2026-06-30", "--out", tmp_path / "b"]]
    for argv in steps:
        assert run([str(a) for a in argv]) == 0
    for label in ("评估中", "假设分析", "生成报告", "生成证据采集表", "通报评估中（截至2026年6月30日）"):
        assert label in buf.getvalue()
    buf.truncate(0)
    buf.seek(0)
    for argv in steps:
        assert run([str(a) for a in argv] + ["--quiet"]) == 0
    assert buf.getvalue() == ""


def test_progress_bars_stay_out_of_pipes_and_logs(mini, tmp_path):
    code, out, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")
    assert code == 0 and "评估中" not in err + out and "\x1b[" not in err


def test_explain_by_a_shared_name_lists_the_candidates_and_exits_2(mini, tmp_path):
    orgs = mini / "orgs.csv"
    orgs.write_text(orgs.read_text(encoding="utf-8").replace("丙社区党委", "乙社区党委"), encoding="utf-8")
    assert run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")[0] == 0
    code, out, err = run_cli("explain", tmp_path / "out", "乙社区党委")
    assert code == 2 and out == ""
    assert "2 organizations are named '乙社区党委': C2, C3; give one of these ids" in err
    assert "\n  C2  东区一街道  D档  总分 59\n  C3  西区二街道  D档  总分 43.13" in err
    code, out, _ = run_cli("explain", tmp_path / "out", "甲社区党委")      # a name only one has: explained
    assert code == 0 and "甲社区党委" in out


def test_rescore_names_tiers_as_documents_do(mini, tmp_path):
    assert run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out", "-q")[0] == 0
    code, out, err = run_cli("rescore", mini / "round.yaml", "C1", "--results", tmp_path / "out")
    assert code == 0, err
    assert "C1：总分 95 → 95，档次 A档 → A档，全域排名 1 → 1" in out


def test_an_authors_own_general_standard_is_not_tested_with_the_shipped_cases(tmp_path):
    """`agrade test --rules DRAFT general` with a draft general.yaml (one criterion's points moved
    between two others) and no cases of its own: the shipped general.cases.yaml, written for the
    shipped standard, is not run against the draft (it would only report the draft's changes);
    the command says which cases it left out and why. The draft's own cases are run."""
    from evaluator.resources import rules_dir
    draft = tmp_path / "draft"
    draft.mkdir()
    (draft / "general.yaml").write_text((rules_dir() / "general.yaml").read_text(encoding="utf-8")
                                        .replace("title: 基层党组织“创A”定档管理通用标准", "title: 基层党组织“创A”定档管理通用标准（征求意见稿）", 1), encoding="utf-8")
    code, out, err = run_cli("test", "general", "--rules", draft)
    assert code == 1 and "0 passed, 0 failed" in out                   # nothing was run: not a pass
    assert "general 的" in err and "个用例未运行" in err and str(draft / "general.yaml") in err
    shipped = (rules_dir() / "general.cases.yaml").read_text(encoding="utf-8")
    (draft / "general.cases.yaml").write_text(shipped, encoding="utf-8")
    code, out, err = run_cli("test", "general", "--rules", draft)
    assert code == 0 and " 0 failed" in out and not out.startswith("0 passed")
    assert out.count("PASS general::") == shipped.count("- name:")      # the draft's own copies ran


ISO_DATE = re.compile(r"(?<![/\w-])\d{4}-\d{2}-\d{2}")     # not inside a path: folder names stay ISO


def test_terminal_messages_print_dates_as_documents_do(mini, tmp_path, monkeypatch):
    """Every message that shows a person a date (bulletins, the round store's status, history,
    waivers, publication, refusals) writes it as documents do: 2027年1月15日, never 2027-01-15.
    Only file and folder names (bulletins/2026-06-30) keep ISO."""
    monkeypatch.setenv("AGRADE_DB", f"sqlite:///{tmp_path / 'agrade.db'}")
    monkeypatch.setenv("AGRADE_USER", "区委组织部-张三")
    said: list[tuple[str, str]] = []

    def say(expected_code, *argv):
        code, out, err = run_cli(*argv)
        assert code == expected_code, (argv, out, err)
        said.append((" ".join(str(a) for a in argv), out + err))
        return out + err

    rnd = mini / "round.yaml"
    say(0, "bulletin", rnd, "--as-of", "2026-05-31", "--out", tmp_path / "b1")
    assert "与2026年5月31日通报相比：" in say(0, "bulletin", rnd, "--as-of", "2026-06-30", "--out", tmp_path / "b2",
                                        "--previous", tmp_path / "b1")
    say(0, "round", "import", rnd)
    say(0, "waiver", "add", "mini-2026", "C2", "G2.2", "--justification", "网格调整", "--approver", "区委组织部",
        "--expires", "2026-01-31T23:59:59+08:00")
    assert "免考核已于2026年1月31日 15:59 UTC 过期" in say(0, "round", "evaluate", "mini-2026")
    assert "2026年1月31日" in say(0, "waiver", "list", "mini-2026")          # a table: the time may wrap
    say(0, "round", "bulletin", "mini-2026", "--as-of", "2026-05-31")
    assert "（截至2026年6月30日）" in say(0, "round", "bulletin", "mini-2026", "--as-of", "2026-06-30")
    assert "不在轮次考评期内（2026年1月1日至2026年12月31日）" in say(2, "round", "bulletin", "mini-2026", "--as-of", "2027-03-01")
    for step in ("verify", "review", "finalize"):
        say(0, "round", step, "mini-2026")
    assert "（名单第 1 号，2027年1月15日）" in say(0, "round", "publish", "mini-2026", "--on", "2027-01-15")
    say(0, "appeal", "file", "mini-2026", "C3", "--criteria", "G1.2", "--reason", "场所面积复测", "--by", "C3书记")
    say(0, "appeal", "decide", "1", "--uphold", "--reason", "维持")
    assert "复核（维持原结果），不能再次决定" in say(2, "appeal", "decide", "1", "--uphold", "--reason", "再议")
    status = say(0, "round", "status", "mini-2026")
    assert "考评期：2026年1月1日至2026年12月31日" in status and "第 1 号（2027年1月15日）" in status
    say(0, "round", "status")
    assert "通报（截至2026年5月31日）" in say(0, "history", "C3")
    say(0, "round", "discrepancies", "mini-2026")
    demo = say(0, "demo", "--out", tmp_path / "demo", "--orgs", "20", "--no-reports", "--no-store", "--bulletins", "2")
    assert "截至2026年1月31日：" in demo and f"{tmp_path / 'demo' / 'bulletins' / '2026-01-31'}" in demo
    say(0, "round", "import", tmp_path / "demo" / "round" / "round.yaml")       # its standards have a date field
    first = json.loads((tmp_path / "demo" / "results" / "results.json").read_text(encoding="utf-8"))["organizations"][0]
    assert re.search(r"last_election（自评）第 1 版：\d{4}年\d{1,2}月\d{1,2}日",
                     say(0, "evidence", "show", "shiliqu-2026", first["id"]))
    assert [(cmd, ISO_DATE.findall(text)) for cmd, text in said if ISO_DATE.search(text)] == []
