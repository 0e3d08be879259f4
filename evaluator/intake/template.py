"""The evidence workbook (证据采集表) a department sends out, as plain data, and the header
spellings intake reads back.

`agrade template ROUND.yaml` writes it (rendered by evaluator.reports.template_xlsx): for
each standard of the round a wide sheet, one row per organization (ids and names filled in),
one column per field headed by its Chinese label and unit, a 自评 and a 核查 column each
(every standard lets an inspector's verified value win, so every field can be verified); a
sheet of dated records (one row per meeting), a sheet for a street's own evidence and one for
its dated records (a street's 大工委 meetings), the instructions (填表说明) and the drop-down
lists (可选值). Everything is visible and nothing is a formula, so what a person sees is what
intake reads. A workbook may hold one street's
organizations (`--street`), and the organizations' self-assessment form leaves out every column
the inspectors fill (`--self-only`).

The header spellings live here, beside the writer, so the workbook is read back exactly as it
was written: `FieldHeaders` knows every way a header (or a field cell of a long sheet) may name
a field — its id, its label, its label with the unit in brackets, full-width or not, with or
without spaces and line breaks — and `column()` splits off a trailing 自评/核查.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field as dc_field
from typing import Iterable

from ..model import Field, Organization, Standard
from ..terms import ORG_TYPES, UNITS, unit_name
from .normalize import halfwidth

INSTRUCTIONS = "填表说明"
OPTIONS = "可选值"
RECORDS = "会议活动记录"
STREETS = "街道统一填报"
STREET_RECORDS = "街道会议活动记录"
OWN_SHEETS = (INSTRUCTIONS, OPTIONS)          # the template's own sheets: not evidence, not read

SOURCE_MARK = {"self": "自评", "verified": "核查"}
YES_NO = ("是", "否")

# Column headers of the template's own columns (intake.evidence._HEADER_ZH reads them).
ORG_ID, ORG_NAME, INSPECTOR, VERIFIED_ON = "组织编号", "组织名称", "核查人", "核查日期"
STREET, FIELD, RECORD_KIND, DATE, TITLE, SOURCE = "街道", "指标", "记录类别", "日期", "标题", "来源"

# ------------------------------------------------------------------ header spellings

# a header's trailing source mark: 'xx（平方米）\n自评', 'xx 核查值', 'xx【核查】', 'xx-self'
_SOURCE_TAIL = re.compile(r"^(.+?)[-_·・/:：]*[(\[【]?(自评值?|核查值?|self|verified)[)\]】]?$")
_SOURCE_OF = {"自评": "self", "自评值": "self", "self": "self", "核查": "verified", "核查值": "verified", "verified": "verified"}
_ID = re.compile(r"[a-z][a-z0-9_]*")


def header_key(text: str) -> str:
    """How two spellings of a header are compared: full-width folded, 【】 as brackets, no
    spaces or line breaks, case ignored."""
    return re.sub(r"\s+", "", halfwidth(str(text)).replace("【", "(").replace("】", ")")).casefold()


def field_header(f: Field, source: str | None = None) -> str:
    """The header the template writes: '党群服务中心面积（平方米）', on a second line 自评 or 核查."""
    unit = unit_name(f.unit)
    text = f.label + (f"（{unit}）" if unit else "")
    return text if source is None else f"{text}\n{SOURCE_MARK[source]}"


def _spellings(f: Field) -> Iterable[str]:
    yield f.id
    yield f.label
    units = (set(UNITS.get(f.unit, ())) | {f.unit, unit_name(f.unit)}) if f.unit else set()
    if f.type == "percentage":
        units |= {"%", "百分比"}
    for u in units:
        yield f"{f.label}({u})"


class FieldHeaders:
    """Every header text naming a field of one standard -> the field's id."""

    def __init__(self, standard: Standard):
        self.standard = standard
        self.ids: dict[str, str | None] = {}      # header_key -> field id (None: names several fields)
        for f in standard.fields.values():
            for text in _spellings(f):
                key = header_key(text)
                known = self.ids.get(key, f.id)
                self.ids[key] = f.id if known == f.id else None

    def field(self, text: str) -> str | None:
        """The field `text` names; None when it names none. Raises AmbiguousHeader when the
        label is shared by several fields (the field id, or the label with unit, tells them apart)."""
        key = header_key(text)
        if key in self.ids:
            fid = self.ids[key]
            if fid is None:
                raise AmbiguousHeader(text, sorted(f.id for f in self.standard.fields.values()
                                                   if key in {header_key(s) for s in _spellings(f)}))
            return fid
        return None

    def column(self, text: str) -> tuple[str, str] | None:
        """A wide sheet's column header -> (field id, 'self' | 'verified'); a header without a
        source mark is the self-assessed value (as a bare value is in a YAML file)."""
        fid = self.field(text)
        if fid is not None:
            return fid, "self"
        m = _SOURCE_TAIL.match(header_key(text))
        if m:
            fid = self.field(m.group(1))
            if fid is not None:
                return fid, _SOURCE_OF[m.group(2)]
        return None

    def labels(self) -> list[str]:
        return [f.label for f in self.standard.fields.values()]


class AmbiguousHeader(Exception):
    def __init__(self, text: str, ids: list[str]):
        self.text, self.ids = text, ids
        super().__init__(f"'{text}' is the label of several fields ({', '.join(ids)}); "
                         "write the label with its unit, or the field id")


class RoundHeaders:
    """FieldHeaders for each standard of a round, found by organization type."""

    def __init__(self, standards: dict[str, Standard]):
        self.by_type = standards
        self._of: dict[str, FieldHeaders] = {}
        for s in standards.values():
            if s.id not in self._of:
                self._of[s.id] = FieldHeaders(s)

    def of_type(self, org_type: str) -> FieldHeaders | None:
        s = self.by_type.get(org_type)
        return self._of[s.id] if s is not None else None

    def all(self) -> list[FieldHeaders]:
        return list(self._of.values())

    def column(self, text: str) -> tuple[str, str] | None:
        """The header read by any of the round's standards (the first that knows it)."""
        for h in self._of.values():
            got = h.column(text)
            if got is not None:
                return got
        return None

    def field(self, text: str) -> str | None:
        """A field cell of a street's sheet, read by every standard: one field id, or None.
        Raises AmbiguousHeader when the standards read it as different fields."""
        found = {}
        for h in self._of.values():
            fid = h.field(text)
            if fid is not None:
                found[fid] = h
        if len(found) > 1:
            raise AmbiguousHeader(text, sorted(found))
        return next(iter(found), None)

    def hint(self, text: str) -> str:
        """The round's field label closest to `text` (a header or a field cell), or ''."""
        labels = sorted({lab for h in self._of.values() for lab in h.labels()})
        got = difflib.get_close_matches(re.sub(r"\s+", "", str(text)), labels, 1, 0.5)
        return got[0] if got else ""


def is_field_id(text: str) -> bool:
    return bool(_ID.fullmatch(str(text).strip()))


# ------------------------------------------------------------------ the workbook as data

@dataclass
class Column:
    header: str
    kind: str = "text"             # text | id | integer | number | percentage | date | choice
    width: int = 12                # in Excel's character units
    choices: str | None = None     # a range of the options sheet: "'可选值'!$A$2:$A$3"
    prompt: str = ""               # what Excel shows when the cell is selected


@dataclass
class Sheet:
    title: str
    columns: list[Column]
    rows: list[list] = dc_field(default_factory=list)
    freeze: str = "A2"             # the header row (and, on wide sheets, ids and names) stay in view
    lines: bool = False            # a sheet of text lines (填表说明), no table


class _Options:
    """The drop-down lists, each a column of the options sheet (listed once however many
    columns use it)."""

    def __init__(self):
        self.lists: list[tuple[str, tuple[str, ...]]] = []

    def ref(self, title: str, values: Iterable[str]) -> str:
        values = tuple(values)
        for i, (_, known) in enumerate(self.lists):
            if known == values:
                break
        else:
            self.lists.append((title, values))
            i = len(self.lists) - 1
        from openpyxl.utils import get_column_letter     # (intake imports this module; openpyxl only when writing)
        letter = get_column_letter(i + 1)
        return f"'{OPTIONS}'!${letter}$2:${letter}${len(values) + 1}"

    def sheet(self) -> Sheet:
        width = max((len(v) for _, vs in self.lists for v in vs), default=4)
        columns = [Column(title, width=min(max(2 * len(title), 2 * width) + 2, 40)) for title, _ in self.lists]
        rows = [[vs[n] if n < len(vs) else None for _, vs in self.lists]
                for n in range(max((len(vs) for _, vs in self.lists), default=0))]
        return Sheet(OPTIONS, columns, rows)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _field_column(f: Field, source: str, options: _Options) -> Column:
    header = field_header(f, source)
    width = min(max(_width(field_header(f)) // 2 + 2, 10), 24)     # the header wraps onto a few lines
    kind, choices, expect = f.type, None, ""
    if f.type in ("boolean", "enum"):
        kind = "choice"
        values = YES_NO if f.type == "boolean" else f.values
        if f.type == "enum" and source == "verified":
            values = (*values, "无")         # the inspector found nothing (in a yes/no field 无 is 否)
        choices = options.ref(f.label if f.type == "enum" else "是/否", values)
        expect = "从下拉列表中选择：" + "、".join(values)
    elif f.type == "date":
        expect = "日期，如 2026-03-05"
    elif f.type == "percentage":
        expect = "百分比，如 60%"
    elif f.type in ("integer", "number"):
        unit = unit_name(f.unit)
        expect = ("整数" if f.type == "integer" else "数值") + (f"，单位：{unit}" if unit else "")
    elif f.type == "text":
        expect = "文字"
    if source == "verified":
        expect += "；由核查人员填写，须同时填写核查人"
    return Column(header, kind, width, choices, expect)


def _sheet_titles(rnd_standards: dict[str, Standard]) -> dict[str, str]:
    """standard id -> its sheet's title: the organization types it serves (社区; 社区、村)."""
    types: dict[str, list[str]] = {}
    for t, s in rnd_standards.items():
        types.setdefault(s.id, []).append(ORG_TYPES.get(t, t))
    return {sid: "、".join(names) for sid, names in types.items()}


def workbook(title: str, period, standards: dict[str, Standard], organizations: list[Organization],
             self_only: bool = False) -> list[Sheet]:
    """The evidence workbook of a round: instructions, a wide sheet per standard (one with none
    of `organizations` is left out), the records sheet, the street sheet and the drop-down lists,
    in that order. self_only: the organizations' self-assessment form, without the columns the
    inspection teams fill (核查, 核查人, 核查日期, 来源)."""
    options = _Options()
    titles = _sheet_titles(standards)
    sources = ("self",) if self_only else ("self", "verified")
    checked = [] if self_only else [Column(INSPECTOR, "text", 14, prompt="核查人员姓名；填写本行任一“核查”列时必填"),
                                    Column(VERIFIED_ON, "date", 12, prompt="核查日期，如 2026-10-12")]
    wide: list[Sheet] = []
    record_fields: dict[str, Field] = {}
    value_fields: dict[str, Field] = {}
    for std in {s.id: s for s in standards.values()}.values():
        types = {k for k, s in standards.items() if s.id == std.id}
        columns = [Column(ORG_ID, "id", 12), Column(ORG_NAME, "text", 28), *checked]
        for f in std.fields.values():
            if f.type == "records":
                record_fields.setdefault(f.label, f)
                continue
            value_fields.setdefault(f.label, f)
            columns += [_field_column(f, source, options) for source in sources]
        rows = [[o.id, o.name] for o in organizations if o.type in types]
        if rows:
            wide.append(Sheet(titles[std.id], columns, rows, freeze="C2"))
    # a record's columns after whose it is (组织编号 and 组织名称, or 街道)
    record_columns = [
        Column(RECORD_KIND, "choice", 30, options.ref(RECORD_KIND, sorted(record_fields)), "从下拉列表中选择记录类别"),
        Column(DATE, "date", 12, prompt="会议或活动日期，如 2026-03-05；全年没有此类记录的写“无”"),
        Column(TITLE, "text", 28, prompt="会议或活动名称，可不填")] + ([] if self_only else [
            Column(SOURCE, "choice", 8, options.ref(SOURCE, tuple(SOURCE_MARK.values())), "自评或核查；不填为自评"),
            Column(INSPECTOR, "text", 14, prompt="来源为“核查”时必填"),
            Column(VERIFIED_ON, "date", 12, prompt="核查日期，如 2026-10-12")])
    records = Sheet(RECORDS, [Column(ORG_ID, "id", 12), Column(ORG_NAME, "text", 28), *record_columns])
    streets = sorted({(o.district, o.street) for o in organizations if o.street})
    street_column = Column(STREET, "choice", 24, options.ref(STREET, [f"{d}/{s}" if d else s for d, s in streets])
                           if streets else None, "区县/街道，从下拉列表中选择")
    street_records = Sheet(STREET_RECORDS, [street_column, *record_columns])
    street = Sheet(STREETS, [
        street_column,
        Column(FIELD, "choice", 40, options.ref(FIELD, sorted(value_fields)), "从下拉列表中选择指标"),
        Column(SOURCE_MARK["self"], "text", 14, prompt="街道自评值")]
        + ([] if self_only else [
            Column(SOURCE_MARK["verified"], "text", 14, prompt="核查值；须同时填写核查人"),
            Column(INSPECTOR, "text", 14), Column(VERIFIED_ON, "date", 12, prompt="核查日期，如 2026-10-12")]))
    guide = Sheet(INSTRUCTIONS, [Column("填表说明", width=110)],
                  [[line] for line in instructions(title, period, [s.title for s in wide], self_only)], lines=True)
    return [guide, *wide, records, street, street_records, options.sheet()]


def instructions(title: str, period, sheets: list[str], self_only: bool = False) -> list[str]:
    """The 填表说明 sheet's lines."""
    return [
        f"{title}　证据采集表" + ("（自评）" if self_only else ""),
        f"考评期间：{period[0].isoformat()} 至 {period[1].isoformat()}",
        "",
        "一、表格组成",
        f"1. “{'”“'.join(sheets)}”：每个党组织一行，编号和名称已填好，请勿修改、删除或重复添加；"
        + ("每项指标填写“自评”列。" if self_only else "每项指标分“自评”和“核查”两列。"),
        f"2. “{RECORDS}”：会议、活动等有日期的记录，每次一行：填写组织编号、记录类别（下拉选择）、日期和标题。",
        f"3. “{STREETS}”：由街道（乡镇）统一填报、对本街道所有党组织都适用的指标，每个街道每项指标一行。",
        f"4. “{STREET_RECORDS}”：由街道（乡镇）统一填报的会议、活动记录（如街道大工委会议），每次一行：填写街道、"
        "记录类别、日期和标题；对本街道所有党组织都适用，各组织不再重复填写。",
        f"5. “{OPTIONS}”：下拉列表的可选值，请勿修改。",
        "",
        "二、填写要求",
        "1. “自评”列由党组织填写" + ("，核查由考核组另行填报。" if self_only else
                                   "；“核查”列由考核组填写，填写任一“核查”列时，须在本行填写核查人（及核查日期）。"),
        "2. 数值直接填写数字，也可带单位（如 500 或 500平方米），全角数字亦可；单位须与表头括号内的单位一致。",
        "3. 百分比填写如 60%；日期填写如 2026-03-05（或 2026/3/5、2026年3月5日）。",
        "4. 是否类指标和选项类指标从下拉列表中选择。",
        "5. 没有材料的单元格留空" + ("。" if self_only else "；核查后确认没有的，在“核查”列填写“无”。"),
        f"6. 全年没有某类会议或活动记录的，在“{RECORDS}”中填一行：组织编号、记录类别，日期写“无”。",
        "7. 请勿使用公式，请勿隐藏工作表；隐藏的工作表不会被读取。",
        "",
        "三、提交与检查",
        "将填好的表格放入考评轮次的证据文件夹（round.yaml 中的 evidence），运行：",
        "agrade validate round.yaml　　检查填写是否有误，错误会指出工作表、行和列（如 社区!F12）及正确写法；",
        "agrade evaluate round.yaml --out 结果目录　　计算得分、定档。",
    ]


__all__ = ["AmbiguousHeader", "Column", "FieldHeaders", "RoundHeaders", "Sheet", "field_header",
           "header_key", "is_field_id", "workbook", "INSTRUCTIONS", "OPTIONS", "OWN_SHEETS", "RECORDS", "STREETS",
           "STREET_RECORDS"]
