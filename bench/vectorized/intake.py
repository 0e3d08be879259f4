"""Read a round's registry and evidence column-wise and pivot it into one array per field.

Files are read with polars (every cell as text), cells are normalized by field type with
column expressions for the clean forms people usually type (plain numbers, 60%, 0.6, ISO
dates, 是/否, enum values), and anything else goes to agrade's own `normalize()` one cell at a
time (`Pivot.fallback` counts those cells). The evidence rules of docs/FORMATS.md §2:

- a verified value wins when an inspector is named for the (organization, field); a verified
  blank with an inspector is "no value"; a blank verified cell without one is ignored;
- `blank: zero` fields count a missing value as 0 (records: none), for the self-assessment too;
- the same record (date, title) listed twice counts once; self and verified lists separately.

Result: `Pivot` with, per field and over all organizations, int64 values (numbers in fixed
point x10^6, booleans 0/1, text as string codes, dates as days since 1970-01-01) and presence
masks, resolved (verified wins) and self-reported; records as CSR arrays of distinct days.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from evaluator.intake.normalize import BLANK_TOKENS, FALSE_TOKENS, TRUE_TOKENS, is_blank, normalize
from evaluator.intake.rounds import _REG_COLS
from evaluator.model import Field
from evaluator.terms import ORG_TYPE_ALIASES, ORG_TYPES, UNITS

from .setup import SCALE, Setup, days

T_NUMBER, T_INTEGER, T_PERCENT, T_BOOL, T_ENUM, T_TEXT, T_DATE, T_REC = range(8)
TCODE = {"number": T_NUMBER, "integer": T_INTEGER, "percentage": T_PERCENT, "boolean": T_BOOL,
         "enum": T_ENUM, "text": T_TEXT, "date": T_DATE, "records": T_REC}

# Clean forms read by column expressions; any other cell goes to normalize() (counted).
BLANK = ["", "-", "--", "—", "——", "–", "/", "n/a", "N/A", "N/a", "n/A", "无数据", "未填", "无"]
TRUE = ["是", "有", "√", "true", "yes", "1"]
FALSE = ["否", "无", "×", "false", "no", "0"]
RE_NUM = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
RE_PCT = r"^[0-9]{1,3}(\.[0-9]{1,4})?%$"
RE_FRACTION = r"^0(\.[0-9]{1,6})?$"
RE_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
VALUE_COLS = {"组织编号": "organization", "编号": "organization", "指标字段": "field", "字段": "field",
              "自评": "self", "自评值": "self", "核查": "verified", "核查值": "verified", "核查人": "inspector",
              "核查日期": "verified_on", "日期": "date", "标题": "title", "名称": "title", "来源": "source"}
_VERIFIED_ON = Field(id="verified_on", type="date", label="核查日期")
_DEC = pl.Decimal(18, 6)


class RoundInputError(ValueError):
    """Input agrade refuses too (the baseline stops the same way: nothing is scored)."""


class ExactRangeError(ValueError):
    """A value outside the fixed-point range the baseline computes exactly in int64."""


@dataclass
class RecordField:
    """One records field over all organizations: distinct record days in CSR form."""
    off: np.ndarray            # int64 (N+1,)
    day: np.ndarray            # int32, ascending within each organization


@dataclass
class Pivot:
    n: int
    ids: list[str]
    id_order: np.ndarray       # position of each id in sorted id order (tie-break by id)
    std: np.ndarray            # int64 index into Setup.standards
    type_code: np.ndarray      # string codes (org.type)
    district: np.ndarray       # string codes
    street: np.ndarray         # string codes
    ids_series: pl.Series      # organization ids, and names, as text (org.id / org.name codes on demand)
    names_series: pl.Series
    val: np.ndarray            # int64 (F, N), resolved: verified wins
    has: np.ndarray            # bool (F, N)
    self_val: np.ndarray
    self_has: np.ndarray
    rec: dict = dc_field(default_factory=dict)        # field code -> RecordField (resolved)
    self_rec: dict = dc_field(default_factory=dict)   # field code -> RecordField (self)
    fallback: int = 0          # cells normalized by agrade's normalize() one at a time
    fallback_examples: list = dc_field(default_factory=list)
    _codes: dict = dc_field(default_factory=dict)

    def index_of(self, org_id: str) -> int | None:
        return self.ids_series.index_of(org_id)

    def text_codes(self, name: str, strings) -> np.ndarray:
        """String codes of org.id / org.name (only when an expression reads them)."""
        if name not in self._codes:
            self._codes[name] = strings.codes(self.ids_series if name == "org.id" else self.names_series)
        return self._codes[name]


# ------------------------------------------------------------------ files

def _read_csv(path: Path, renames: dict) -> pl.DataFrame:
    df = pl.read_csv(path, infer_schema=False, raise_if_empty=False)
    cols = {}
    for c in df.columns:
        key = c.strip().lstrip("\ufeff")
        cols[c] = renames.get(key, key.lower()) if renames is not VALUE_COLS else VALUE_COLS.get(key, key.lower())
    return df.rename(cols)


def _evidence_files(setup: Setup) -> list[Path]:
    files: list[Path] = []
    for p in setup.rnd.evidence_paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in (".yaml", ".yml", ".json", ".csv", ".xlsx"))
        elif p.is_file():
            files.append(p)
        else:
            raise RoundInputError(f"evidence path {p} does not exist")
    return files


def _stem_kind(path: Path) -> str:
    s = path.stem
    if s == "values" or s.endswith((".values", "_values")):
        return "values"
    if s == "records" or s.endswith(("_records", ".records")):
        return "records"
    raise RoundInputError(f"{path}: a bulk CSV must be named values.csv or records.csv")


# ------------------------------------------------------------------ registry

def _registry(setup: Setup, pv: dict) -> None:
    path = setup.rnd.path.parent / setup.rnd.raw["organizations"]
    if path.suffix.lower() != ".csv":
        raise NotImplementedError("the vectorized baseline reads CSV registries only")
    df = _read_csv(path, _REG_COLS)
    df = df.select([pl.col(c).fill_null("").str.strip_chars().alias(c) for c in df.columns])
    df = df.filter(pl.any_horizontal([pl.col(c) != "" for c in df.columns]))
    ids = df["id"]
    if ids.n_unique() != len(ids) or (ids == "").any():
        raise RoundInputError("registry: blank or duplicate organization ids")
    types = df["type"]
    alias = {**{k: k for k in ORG_TYPES}, **ORG_TYPE_ALIASES}
    codes = types.replace_strict(list(alias), list(alias.values()), default=None)
    if codes.null_count():
        raise RoundInputError(f"registry: unknown organization type {types.filter(codes.is_null())[0]!r}")
    std_of_type = {t: i for t, i in setup.type_std.items()}
    known = codes.is_in(list(std_of_type))
    if not known.all():
        raise RoundInputError(f"organization type {codes.filter(~known)[0]!r} has no standard in round.yaml")
    n = len(df)
    s = setup.strings
    pv["n"] = n
    pv["ids"] = ids.to_list()
    order = ids.arg_sort().to_numpy()                    # byte order of UTF-8 = code point order, as Python's
    pv["id_order"] = np.empty(n, np.int64)
    pv["id_order"][order] = np.arange(n)
    pv["std"] = codes.replace_strict(list(std_of_type), list(std_of_type.values()), return_dtype=pl.Int64).to_numpy()
    pv["type_code"] = s.codes(codes)
    empty = pl.Series([""] * n)
    pv["district"] = s.codes(df["district"] if "district" in df.columns else empty)
    pv["street"] = s.codes(df["street"] if "street" in df.columns else empty)
    names = df["name"] if "name" in df.columns else empty
    pv["names_series"] = pl.select(pl.when(names == "").then(ids).otherwise(names)).to_series()
    pv["ids_series"] = ids
    pv["index_of"] = ids.index_of


# ------------------------------------------------------------------ cells

class _Cells:
    """Value cells (organization, field, source, inspector named, raw text) and record rows
    (organization, field, source, inspector named, date text, title text), accumulated from every
    file before normalizing; organizations and fields as codes."""

    def __init__(self, setup: Setup, pv: dict):
        self.setup, self.pv = setup, pv
        self.org_enum = pl.Enum(pv["ids"])
        self.field_enum = pl.Enum([f.id for f in setup.fields])
        self.parts: list[tuple] = []          # (org, field, src, insp, raw Series)
        self.rec_parts: list[tuple] = []      # (org, field, src, insp, date Series, title Series)
        self.rec_extra: list[tuple] = []      # odd YAML record lists, through normalize()
        self.rec_flags: list[tuple] = []      # (org, field, src, blank, inspector): a records list given
        self.verified_on: list[pl.Series] = []
        self.doc_verified_on: list[str] = []

    def codes(self, s: pl.Series, enum, what: str, where: Path, blank_rows: np.ndarray | None = None) -> np.ndarray:
        """Codes of organization ids / field ids; a cell with spaces around is stripped first."""
        out = s.cast(enum, strict=False).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
        bad = np.flatnonzero(out < 0)
        if len(bad):
            out = out.copy()
        if len(bad):
            again = s.gather(bad).str.strip_chars().cast(enum, strict=False).to_physical().cast(pl.Int64) \
                .fill_null(-1).to_numpy()
            out[bad] = again
            still = bad[again < 0]
            if blank_rows is not None:
                still = still[~blank_rows[still]]
            if len(still):
                v = s[int(still[0])]
                if v is None or not v.strip():
                    raise RoundInputError(f"{where}: row {int(still[0]) + 2}: organization and field must not be blank")
                raise RoundInputError(f"{where}: row {int(still[0]) + 2}: unknown {what} {v!r}"
                                      + (" (not in the registry)" if what == "organization" else ""))
        return out


def _nonblank(s: pl.Series | None, n: int) -> np.ndarray:
    """Cells holding something other than spaces (agrade's _cell_text(v) != "")."""
    if s is None:
        return np.zeros(n, bool)
    nn = s.is_not_null()
    out = nn.to_numpy()
    idx = np.flatnonzero(out)
    if len(idx):
        out[idx] = (s.filter(nn).str.strip_chars() != "").to_numpy()
    return out


def _col(df: pl.DataFrame, name: str) -> pl.Series | None:
    return df[name] if name in df.columns else None


def _blank_rows(df: pl.DataFrame) -> np.ndarray:
    """Rows whose organization cell is empty: a wholly blank line is skipped."""
    org = df["organization"]
    cand = np.flatnonzero(org.is_null().to_numpy() | (org == "").fill_null(True).to_numpy())
    out = np.zeros(len(df), bool)
    if len(cand):
        sub = df[cand]
        out[cand] = np.all([_nonblank(sub[c], len(sub)) == 0 for c in sub.columns], axis=0)
    return out


def _values_csv(path: Path, cells: _Cells) -> None:
    df = _read_csv(path, VALUE_COLS)
    for c in ("organization", "field", "self"):
        if c not in df.columns:
            raise RoundInputError(f"{path}: missing column {c}")
    n = len(df)
    blank = _blank_rows(df)
    org = cells.codes(df["organization"], cells.org_enum, "organization", path, blank)
    fld = cells.codes(df["field"], cells.field_enum, "field", path, blank)
    insp = _nonblank(_col(df, "inspector"), n)
    has_self = df["self"].is_not_null().to_numpy() & ~blank
    ver = _col(df, "verified")
    has_ver = ((ver.is_not_null().to_numpy() if ver is not None else np.zeros(n, bool)) | insp) & ~blank
    cells.parts.append((org[has_self], fld[has_self], np.zeros(int(has_self.sum()), np.int64), insp[has_self],
                        df["self"].filter(pl.Series(has_self))))
    raw_ver = (ver if ver is not None else pl.Series([""] * n, dtype=pl.String)).filter(pl.Series(has_ver)).fill_null("")
    cells.parts.append((org[has_ver], fld[has_ver], np.ones(int(has_ver.sum()), np.int64), insp[has_ver], raw_ver))
    if "verified_on" in df.columns:
        cells.verified_on.append(df["verified_on"].drop_nulls())


def _records_csv(path: Path, cells: _Cells) -> None:
    df = _read_csv(path, VALUE_COLS)
    for c in ("organization", "date", "field"):
        if c not in df.columns:
            raise RoundInputError(f"{path}: missing column {c}")
    n = len(df)
    blank = _blank_rows(df)
    keep = pl.Series(~blank)
    org = cells.codes(df["organization"], cells.org_enum, "organization", path, blank)[~blank]
    fld = cells.codes(df["field"], cells.field_enum, "field", path, blank)[~blank]
    insp = _nonblank(_col(df, "inspector"), n)[~blank]
    source = _col(df, "source")
    if source is None:
        src = np.zeros(int((~blank).sum()), np.int64)
    else:
        ver = ((source == "verified") | (source == "核查")).fill_null(False).to_numpy()
        known = (source.is_null() | source.is_in(["self", "自评", "verified", "核查"])).to_numpy()
        src = np.where(known, ver.astype(np.int64), -1)
        odd = np.flatnonzero(src < 0)
        if len(odd):     # spaces around, or an empty-looking cell
            again = source.gather(odd).str.strip_chars().replace_strict(
                ["", "self", "自评", "verified", "核查"], [0, 0, 0, 1, 1], default=-1, return_dtype=pl.Int64).to_numpy()
            src[odd] = again
        src = src[~blank]
        if (src < 0).any():
            raise RoundInputError(f"{path}: source must be self or verified (自评/核查)")
    date = df["date"].filter(keep)
    if date.null_count():
        raise RoundInputError(f"{path}: a record has no date")
    title = _col(df, "title")
    title = title.filter(keep) if title is not None else pl.Series([None] * len(date), dtype=pl.String)
    cells.rec_parts.append((org, fld, src, insp, date, title))
    if "verified_on" in df.columns:
        cells.verified_on.append(df["verified_on"].drop_nulls())


def _yaml_text(v) -> str:
    """A scalar of a YAML document read without implicit typing (CBaseLoader) as cell text."""
    if v is None or v in ("null", "Null", "NULL", "~"):
        return ""
    if isinstance(v, (list, dict)):
        raise RoundInputError(f"expected a single value, got {v!r}")
    return str(v)


def _document(doc: dict, cells: _Cells, path: Path) -> None:
    org_id = str(doc["organization"])
    org = cells.pv["index_of"](org_id)
    if org is None:
        raise RoundInputError(f"{path}: evidence for organization {org_id!r}, which is not in the registry")

    def code(fid):
        f = cells.setup.field.get(fid)
        if f is None:
            raise RoundInputError(f"{path}: unknown field {fid!r}")
        return f.code
    rows = []
    for fid, v in (doc.get("values") or {}).items():
        if isinstance(v, dict):
            insp = _yaml_text(v.get("inspector")) != ""
            for src, key in ((0, "self"), (1, "verified")):
                if key in v:
                    rows.append((code(fid), src, insp, _yaml_text(v[key])))
            if "verified_on" in v:
                cells.doc_verified_on.append(_yaml_text(v["verified_on"]))
        else:
            rows.append((code(fid), 0, False, _yaml_text(v)))
    if rows:
        f, src, insp, raw = zip(*rows)
        cells.parts.append((np.full(len(rows), org, np.int64), np.array(f, np.int64), np.array(src, np.int64),
                            np.array(insp, bool), pl.Series(raw, dtype=pl.String)))
    recs = []
    for fid, v in (doc.get("records") or {}).items():
        lists = [(0, v, False)]
        if isinstance(v, dict):
            insp = _yaml_text(v.get("inspector")) != ""
            lists = [(src, v[key], insp) for src, key in ((0, "self"), (1, "verified")) if key in v]
            if "verified_on" in v:
                cells.doc_verified_on.append(_yaml_text(v["verified_on"]))
        for src, items, insp in lists:
            if items is None or (not isinstance(items, list) and _yaml_text(items) == ""):
                cells.rec_flags.append((org, code(fid), src, True, insp))
                continue
            cells.rec_flags.append((org, code(fid), src, False, insp))
            plain = isinstance(items, list) and all(
                isinstance(i, str) or (isinstance(i, dict) and set(i) <= {"date", "title"} and isinstance(i.get("date"), str))
                for i in items)
            if not plain:
                cells.rec_extra.append((org, code(fid), src, items))
                continue
            for i in items:
                if isinstance(i, dict):
                    recs.append((code(fid), src, insp, _yaml_text(i.get("date")), _yaml_text(i.get("title")).strip()))
                else:
                    recs.append((code(fid), src, insp, i, ""))
    if recs:
        f, src, insp, date, title = zip(*recs)
        cells.rec_parts.append((np.full(len(recs), org, np.int64), np.array(f, np.int64), np.array(src, np.int64),
                                np.array(insp, bool), pl.Series(date, dtype=pl.String), pl.Series(title, dtype=pl.String)))


def _documents(path: Path, cells: _Cells) -> None:
    text = path.read_text(encoding="utf-8-sig")
    doc = json.loads(text, parse_float=str, parse_int=str) if path.suffix.lower() == ".json" \
        else yaml.load(text, Loader=yaml.CBaseLoader)
    docs = [doc] if "organization" in doc else list(doc["organizations"])
    for d in docs:
        _document(d, cells, path)


# ------------------------------------------------------------------ normalizing

# what people also type (docs/FORMATS.md §2): full-width forms, units, other date spellings
_FOLD_FROM = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000", "\u00a0", "\u2212", "\ufe63"]
_FOLD_TO = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" ", " ", "-", "-"]
RE_NUM_UNIT = r"^([0-9]{1,12}(?:\.[0-9]{1,6})?)\s*(\D.*)$"
RE_YMD = (r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$", r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$",
          r"^([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})$",
          r"^([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*[日号]?$", r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
RE_YMD_ANY = "^(?:" + "|".join(r[1:-1] for r in RE_YMD) + ")$"
_BLANK_FOLDED = sorted(BLANK_TOKENS)
_TRUE_FOLDED, _FALSE_FOLDED = list(TRUE_TOKENS), list(FALSE_TOKENS)


def _fold(s: pl.Series) -> pl.Series:
    """halfwidth + strip, as agrade compares what people type."""
    return s.str.replace_many(_FOLD_FROM, _FOLD_TO).str.strip_chars()


def ymd_days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(valid, days since 1970-01-01) of proleptic Gregorian dates (Hinnant's days_from_civil)."""
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    dim = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)] + ((m == 2) & leap)
    ok = (y >= 1) & (y <= 9999) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= dim)
    yy = y - (m <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return ok, era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def parse_dates(s: pl.Series, folded: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(ok, days) for ISO dates, and (folded=True) the other spellings agrade reads."""
    if not folded:
        ok = s.str.contains(RE_DATE).to_numpy()
        d = s.str.to_date("%Y-%m-%d", strict=False).to_physical()
        ok &= d.is_not_null().to_numpy()
        return ok, np.array(d.fill_null(0).cast(pl.Int64).to_numpy())
    if not len(s):
        return np.zeros(0, bool), np.zeros(0, np.int64)
    g = s.str.extract_groups(RE_YMD_ANY)
    parts = []
    for k in (0, 1, 2):                 # year, month, day of whichever spelling matched
        parts.append(pl.select(pl.coalesce([g.struct.field(str(1 + 3 * j + k)) for j in range(len(RE_YMD))]))
                     .to_series().cast(pl.Int64).fill_null(-1).to_numpy())
    return ymd_days(*parts)


class _Normalizer:
    def __init__(self, setup: Setup, pv: dict):
        self.setup, self.pv = setup, pv
        self.tcode = np.array([TCODE[f.type] for f in setup.fields], dtype=np.int8)
        self.fallback = 0
        self.examples: list[str] = []
        nf = len(setup.fields)
        st = setup.strings
        # enum values allowed per (standard, field), and unit spellings per (standard, field)
        keys = [(si * nf + c) * (1 << 32) + st.code(v)
                for si, defs in enumerate(setup.fdef) for c, f in defs.items() if f.type == "enum" for v in f.values]
        self.enum_keys = np.array(sorted(keys), dtype=np.int64)
        units = [(si * nf + c) * (1 << 32) + st.code(u.strip().lower())
                 for si, defs in enumerate(setup.fdef) for c, f in defs.items() if f.unit
                 for u in {f.unit, *UNITS.get(f.unit, ())}]
        self.unit_keys = np.array(sorted(units), dtype=np.int64)

    def slow(self, raw, std: int, fld: int, records_row: bool = False):
        """agrade's normalize() for one odd cell (counted)."""
        f = self.setup.fdef[std][fld]
        self.fallback += 1
        if len(self.examples) < 12:
            self.examples.append(raw if isinstance(raw, str) else repr(raw))
        try:
            return normalize([raw] if records_row else raw, f)
        except Exception as e:     # NormalizeError: the round is refused, as agrade refuses it
            raise RoundInputError(f"{f.label}（{f.id}）: {e!r}") from None

    def fixed(self, d: Decimal) -> int:
        x = d * SCALE
        if x != x.to_integral_value() or abs(x) >= 1 << 62:
            raise ExactRangeError(f"{d} does not fit the baseline's fixed point (10^-6 steps, < 4.6e12)")
        return int(x)

    def _parse(self, tc: int, s: pl.Series, folded: bool):
        """(ok, value, unit code or -1) of distinct spellings `s` read as type `tc`; folded=True for
        the second pass (full-width forms and spaces folded: units, other date spellings, 是/否
        spelled otherwise). What depends on the field (limits, units, enum values) is checked
        per cell by the caller."""
        n = len(s)
        ok, v, unit = np.zeros(n, bool), np.zeros(n, np.int64), np.full(n, -1, np.int64)
        if tc in (T_NUMBER, T_INTEGER, T_PERCENT):
            if tc == T_PERCENT:
                pct = s.str.contains(RE_PCT).to_numpy()
                ok = pct | s.str.contains(RE_FRACTION).to_numpy()
                v = s.str.strip_suffix("%").cast(_DEC, strict=False).to_physical().cast(pl.Int64).fill_null(0).to_numpy()
                v = np.where(pct, v // 100, v)               # <= 4 decimals in %: exact
            else:
                ok = s.str.contains(RE_NUM).to_numpy()
                v = s.cast(_DEC, strict=False).to_physical().cast(pl.Int64).fill_null(0).to_numpy()
                if folded:          # 500平方米, 12 人: the unit is checked against the field per cell
                    g = s.str.extract_groups(RE_NUM_UNIT)
                    num = g.struct.field("1")
                    has = num.is_not_null().to_numpy() & ~ok
                    if has.any():
                        u = g.struct.field("2").str.strip_chars().str.to_lowercase().fill_null("")
                        unit = np.where(has, self.setup.strings.codes(u), -1)
                        nv = num.cast(_DEC, strict=False).to_physical().cast(pl.Int64).fill_null(0).to_numpy()
                        v = np.where(has, nv, v)
                        ok |= has
                if tc == T_INTEGER:
                    ok &= v % SCALE == 0
        elif tc == T_BOOL:
            src = s.str.to_lowercase() if folded else s
            t, f = (_TRUE_FOLDED, _FALSE_FOLDED) if folded else (TRUE, FALSE)
            b = src.replace_strict(t + f, [1] * len(t) + [0] * len(f), default=-1, return_dtype=pl.Int8).to_numpy()
            ok, v = b >= 0, b.astype(np.int64)
        elif tc == T_DATE:
            ok, v = parse_dates(s, folded)
        elif tc == T_ENUM and not folded:
            ok, v = np.ones(n, bool), self.setup.strings.codes(s)
        elif tc == T_TEXT and not folded:
            ok, v = (s == s.str.strip_chars()).to_numpy(), self.setup.strings.codes(s)
        return ok, v, unit

    def cells(self, std: np.ndarray, fld: np.ndarray, raw: pl.Series):
        """Normalize value cells: (int64 value, blank mask, [(cell, records)] of records-typed cells).

        Each distinct spelling is read once per field type (a round's 1.2 million cells have some
        30,000): the clean forms, then blank tokens, then, folded, the odd forms; then the field's
        own limits, unit and enum values per cell; what is still unread goes through agrade's
        normalize() one cell at a time."""
        n = len(raw)
        t = self.tcode[fld]
        val = np.zeros(n, np.int64)
        blank = np.zeros(n, bool)
        done = np.zeros(n, bool)
        recs = []
        raw = raw.fill_null("")
        uniq = raw.unique()
        code = raw.cast(pl.Enum(uniq.to_list())).to_physical().to_numpy().astype(np.int64)
        nf = len(self.setup.fields)
        for tc in np.unique(t).tolist():
            cell = np.flatnonzero(t == tc)
            used = np.flatnonzero(np.bincount(code[cell], minlength=len(uniq)))
            s = uniq.gather(used)
            u_ok, u_val, u_unit = np.zeros(len(used), bool), np.zeros(len(used), np.int64), np.full(len(used), -1)
            if tc != T_REC:
                u_ok, u_val, u_unit = (np.array(x) for x in self._parse(tc, s, False))
            u_blank = s.is_in(BLANK).to_numpy()
            if tc == T_BOOL:                                 # 无 in a boolean field is 否, not blank
                u_blank &= (s != "无").to_numpy()
            u_ok &= ~u_blank
            rest = np.flatnonzero(~u_ok & ~u_blank)
            if len(rest):
                f = _fold(s.gather(rest))
                low = f.str.to_lowercase()
                b = low.is_in(_BLANK_FOLDED).to_numpy()
                if tc == T_BOOL:
                    b &= (low != "无").to_numpy()
                u_blank[rest[b]] = True
                if tc != T_REC and not b.all():
                    left = rest[~b]
                    ok2, v2, un2 = self._parse(tc, f.filter(pl.Series(~b)), True)
                    u_ok[left], u_val[left], u_unit[left] = ok2, v2, un2
            pos = np.empty(len(uniq), np.int64)
            pos[used] = np.arange(len(used))
            k = pos[code[cell]]
            ok = u_ok[k]
            v = u_val[k]
            sf = std[cell] * nf + fld[cell]
            if tc in (T_NUMBER, T_INTEGER):
                un = u_unit[k]
                w = np.flatnonzero(un >= 0)
                if len(w):
                    ok[w] &= np.isin(sf[w] * (1 << 32) + un[w], self.unit_keys)
            if tc in (T_NUMBER, T_INTEGER, T_PERCENT):
                ok &= (v >= self.setup.lo.ravel()[sf]) & (v <= self.setup.hi.ravel()[sf])
            elif tc == T_ENUM:
                ok &= np.isin(sf * (1 << 32) + v, self.enum_keys)
            val[cell[ok]] = v[ok]
            b = u_blank[k]
            blank[cell[b]] = True
            done[cell[ok | b]] = True
        for i in np.flatnonzero(~done):
            x = self.slow(raw[int(i)], int(std[i]), int(fld[i]))
            if x is None:
                blank[i] = True
            elif t[i] == T_REC:
                recs.append((int(i), x))
            else:
                val[i] = self.typed(x, int(t[i]))
        return val, blank, recs

    def typed(self, x, tc) -> int:
        if tc in (T_NUMBER, T_INTEGER, T_PERCENT):
            return self.fixed(x)
        if tc == T_BOOL:
            return int(bool(x))
        if tc in (T_ENUM, T_TEXT):
            return self.setup.strings.code(x)
        if tc == T_DATE:
            return days(x)
        raise AssertionError(tc)

    def record_days(self, std: np.ndarray, fld: np.ndarray, date: pl.Series, title: pl.Series) -> np.ndarray:
        """Record dates as days, parsed once per distinct spelling (a round has a few hundred):
        ISO dates, then the other spellings folded; the rest through normalize([{date, title}])
        one row at a time (counted)."""
        uniq = date.unique()
        ok, out = parse_dates(uniq)
        left = np.flatnonzero(~ok)
        if len(left):
            ok2, d2 = parse_dates(_fold(uniq.gather(left)), folded=True)
            out[left[ok2]] = d2[ok2]
            ok[left[ok2]] = True
        code = date.cast(pl.Enum(uniq.drop_nulls().to_list())).to_physical().fill_null(len(uniq)).to_numpy()
        nulls = uniq.is_null().to_numpy()
        table = np.append(out[~nulls], 0)
        valid = np.append(ok[~nulls], False)
        result = table[code]                            # a new array: writable
        for i in np.flatnonzero(~valid[code]):
            row = {"date": date[int(i)]}
            if title[int(i)]:
                row["title"] = title[int(i)]
            result[i] = days(self.slow(row, int(std[i]), int(fld[i]), records_row=True)[0].date)
        return result

    def check_dates(self, s: pl.Series) -> None:
        """verified_on cells are read (and refused when wrong) even when no value uses them."""
        s = s.filter(s != "")
        ok, _ = parse_dates(s)
        if not ok.all():
            s = s.filter(pl.Series(~ok))
            ok, _ = parse_dates(_fold(s), folded=True)
            for raw in s.filter(pl.Series(~ok)).to_list():
                self.fallback += 1
                try:
                    normalize(raw, _VERIFIED_ON)
                except Exception as e:
                    raise RoundInputError(f"verified_on: {e}") from None


def _title_codes(titles: pl.Series) -> np.ndarray:
    """Record titles as agrade compares them (stripped, blank tokens = no title), as codes
    computed once per distinct title."""
    titles = titles.fill_null("")
    uniq = titles.unique().to_list()
    table: dict[str, int] = {}
    mapped = [table.setdefault("" if is_blank(t) else t.strip(), len(table)) for t in uniq]
    return titles.replace_strict(uniq, mapped, return_dtype=pl.Int64).to_numpy()


# ------------------------------------------------------------------ pivoting

def read_round(setup: Setup) -> Pivot:
    pv: dict = {}
    _registry(setup, pv)
    cells = _Cells(setup, pv)
    for f in _evidence_files(setup):
        suffix = f.suffix.lower()
        if suffix == ".csv":
            (_values_csv if _stem_kind(f) == "values" else _records_csv)(f, cells)
        elif suffix in (".yaml", ".yml", ".json"):
            _documents(f, cells)
        else:
            raise NotImplementedError(f"{f}: the vectorized baseline reads CSV, YAML and JSON evidence only")
    norm = _Normalizer(setup, pv)
    for s in cells.verified_on + [pl.Series(cells.doc_verified_on, dtype=pl.String)]:
        norm.check_dates(s)
    n, nf = pv["n"], len(setup.fields)
    grid = _values(setup, pv, cells, norm)
    rec, self_rec = _records(setup, pv, cells, norm, grid)
    _blank_zero(setup, pv, grid)
    return Pivot(n=n, ids=pv["ids"], id_order=pv["id_order"], std=pv["std"], type_code=pv["type_code"],
                 district=pv["district"], street=pv["street"], ids_series=pv["ids_series"],
                 names_series=pv["names_series"],
                 val=grid["val"].reshape(nf, n), has=grid["has"].reshape(nf, n),
                 self_val=grid["self_val"].reshape(nf, n), self_has=grid["self_has"].reshape(nf, n),
                 rec=rec, self_rec=self_rec, fallback=norm.fallback, fallback_examples=norm.examples)


def _values(setup: Setup, pv: dict, cells: _Cells, norm: _Normalizer) -> dict:
    n, nf = pv["n"], len(setup.fields)
    size = n * nf
    grid = {"val": np.zeros(size, np.int64), "has": np.zeros(size, bool), "self_val": np.zeros(size, np.int64),
            "self_has": np.zeros(size, bool), "insp": np.zeros(size, bool)}
    if not cells.parts:
        return grid
    org = np.concatenate([p[0] for p in cells.parts])
    fld = np.concatenate([p[1] for p in cells.parts])
    src = np.concatenate([p[2] for p in cells.parts])
    insp = np.concatenate([p[3] for p in cells.parts])
    raw = pl.concat([p[4] for p in cells.parts])
    std = pv["std"][org]
    if not setup.member[std, fld].all():
        i = int(np.flatnonzero(~setup.member[std, fld])[0])
        raise RoundInputError(f"unknown field {setup.fields[fld[i]].id!r} for standard {setup.standards[std[i]].id!r}")
    key = fld * n + org
    for sv in (0, 1):
        k = key[src == sv]
        if len(k) and np.bincount(k, minlength=size).max() > 1:
            raise RoundInputError("duplicate value for one organization and field")
    grid["insp"][key[insp]] = True
    val, blank, recs = norm.cells(std, fld, raw)
    grid["cell_recs"] = [(int(org[i]), int(fld[i]), int(src[i]), x) for i, x in recs]
    is_rec = norm.tcode[fld] == T_REC
    grid["rec_cells"] = (org[is_rec], fld[is_rec], src[is_rec], blank[is_rec])
    s = (src == 0) & ~is_rec & ~blank
    grid["self_val"][key[s]] = val[s]
    grid["self_has"][key[s]] = True
    v = (src == 1) & ~is_rec
    ins = grid["insp"][key[v]]
    if (~ins & ~blank[v]).any():
        raise RoundInputError("a verified value needs the inspector who verified it (inspector)")
    v_idx = np.flatnonzero(v)[ins]                 # a blank verified cell without an inspector is ignored
    ver_present = np.zeros(size, bool)
    ver_present[key[v_idx]] = True
    ver_ok = v_idx[~blank[v_idx]]
    grid["val"] = grid["self_val"].copy()
    grid["has"] = grid["self_has"].copy()
    grid["has"][ver_present] = False               # verified blank: no value (blank: zero gives 0 below)
    grid["val"][key[ver_ok]] = val[ver_ok]
    grid["has"][key[ver_ok]] = True
    grid["val"][~grid["has"]] = 0
    return grid


def _records(setup: Setup, pv: dict, cells: _Cells, norm: _Normalizer, grid: dict):
    n, nf = pv["n"], len(setup.fields)
    size = n * nf
    orgs, flds, srcs, dys, titles, insps = [], [], [], [], [], []
    if cells.rec_parts:
        org = np.concatenate([p[0] for p in cells.rec_parts])
        fld = np.concatenate([p[1] for p in cells.rec_parts])
        std = pv["std"][org]
        if not setup.member[std, fld].all() or (norm.tcode[fld] != T_REC).any():
            raise RoundInputError("records given for a field that is not a records field of the organization's standard")
        date = pl.concat([p[4] for p in cells.rec_parts])
        title = pl.concat([p[5] for p in cells.rec_parts])
        orgs.append(org)
        flds.append(fld)
        srcs.append(np.concatenate([p[2] for p in cells.rec_parts]))
        dys.append(norm.record_days(std, fld, date, title))
        titles.append(title)
        insps.append(np.concatenate([p[3] for p in cells.rec_parts]))
    # records that came typed from fallbacks (values.csv cells, odd YAML lists)
    extra = list(grid.pop("cell_recs"))
    for o, fc, src, items in cells.rec_extra:
        if not setup.member[pv["std"][o], fc] or norm.tcode[fc] != T_REC:
            raise RoundInputError(f"records {setup.fields[fc].id!r} for organization {pv['ids'][o]!r}")
        extra.append((o, fc, src, norm.slow(items, int(pv["std"][o]), fc)))
    typed = [(o, fc, src, days(r.date), r.title) for o, fc, src, recs in extra for r in recs or ()]
    if typed:
        o, fc, sv, dd, tt = zip(*typed)
        orgs.append(np.array(o, np.int64))
        flds.append(np.array(fc, np.int64))
        srcs.append(np.array(sv, np.int64))
        dys.append(np.array(dd, np.int64))
        titles.append(pl.Series(tt, dtype=pl.String))
        insps.append(np.zeros(len(typed), bool))
    flags = []
    for o, fc, src, blank, insp in cells.rec_flags:
        if not setup.member[pv["std"][o], fc] or norm.tcode[fc] != T_REC:
            raise RoundInputError(f"records {setup.fields[fc].id!r} for organization {pv['ids'][o]!r}")
        flags.append((o, fc, src, blank, insp))
    rc_org, rc_fld, rc_src, rc_blank = grid.pop("rec_cells")
    flags += list(zip(rc_org.tolist(), rc_fld.tolist(), rc_src.tolist(), rc_blank.tolist(), [False] * len(rc_org)))
    if orgs:
        org, fld, src = np.concatenate(orgs), np.concatenate(flds), np.concatenate(srcs)
        day, insp = np.concatenate(dys), np.concatenate(insps)
        title = pl.concat(titles)
    else:
        org = fld = src = day = np.zeros(0, np.int64)
        insp = np.zeros(0, bool)
        title = pl.Series([], dtype=pl.String)
    ekey = fld * n + org
    insp_grid = grid["insp"]
    insp_grid[ekey[insp]] = True
    self_present = np.zeros(size, bool)
    ver_present = np.zeros(size, bool)
    ver_blank = np.zeros(size, bool)
    self_present[ekey[src == 0]] = True
    ver_present[ekey[src == 1]] = True
    for o, fc, sv, blank, insp_flag in flags:
        k = fc * n + o
        if insp_flag:
            insp_grid[k] = True
        if sv == 0:
            self_present[k] |= not blank
        elif blank:
            ver_present[k] = True
            ver_blank[k] = True
        else:
            ver_present[k] = True
    drop = ver_present & ~insp_grid
    if (drop & ~ver_blank).any():
        raise RoundInputError("verified records need the inspector who verified them (inspector)")
    ver_present &= ~drop
    # distinct records (org, field, source, day, title) in that order, which is how bulk files list
    # them (then nothing is sorted); titles are compared only where the same (org, field, source,
    # day) occurs more than once
    if len(org):
        d0 = int(day.min())
        span = int(day.max()) - d0 + 1
        if float(nf) * n * 2 * span >= 2.0 ** 62:
            raise ExactRangeError("record keys do not fit int64")
        key = ((org * nf + fld) * 2 + src) * span + (day - d0)
        perm = None
        if len(key) > 1 and (key[1:] < key[:-1]).any():
            perm = np.argsort(key, kind="stable")
            key, org, fld, src, day = key[perm], org[perm], fld[perm], src[perm], day[perm]
        first = np.ones(len(key), bool)
        first[1:] = key[1:] != key[:-1]
        if not first.all():
            rows = np.flatnonzero(~first | np.append(~first[1:], False))    # every row of a repeated key
            tcode = _title_codes(title.gather(rows if perm is None else perm[rows]))
            seen = set()
            for i, k, t in zip(rows.tolist(), key[rows].tolist(), tcode.tolist()):
                first[i] = (k, t) not in seen      # a different title on the same day is another record
                seen.add((k, t))
            org, fld, src, day = org[first], fld[first], src[first], day[first]
    ekey = fld * n + org
    use = np.where(ver_present[ekey], 1, 0)
    res_rows = src == use
    self_rows = src == 0
    rec, self_rec = {}, {}
    codes = [f.code for f in setup.fields if f.kind == "rec"]
    for rows, out in ((res_rows, rec), (self_rows, self_rec)):
        f_, o_, d_ = fld[rows], org[rows], day[rows]
        by_field = np.argsort(f_.astype(np.int16), kind="stable")    # radix sort; organizations stay in order
        f_, o_, d_ = f_[by_field], o_[by_field], d_[by_field].astype(np.int32)
        for c in codes:
            lo, hi = np.searchsorted(f_, [c, c + 1])
            off = np.zeros(n + 1, np.int64)
            off[1:] = np.cumsum(np.bincount(o_[lo:hi], minlength=n))
            out[c] = RecordField(off, d_[lo:hi])
    for c in codes:
        sl = slice(c * n, (c + 1) * n)
        grid["has"][sl] = np.where(ver_present[sl], ~ver_blank[sl], self_present[sl])
        grid["self_has"][sl] = self_present[sl]
    return rec, self_rec


def _blank_zero(setup: Setup, pv: dict, grid: dict) -> None:
    """`blank: zero`: a missing value counts 0 (records: none), in the self-assessment too."""
    if not setup.blank_zero.any():
        return
    bz = setup.blank_zero[pv["std"]].T.reshape(-1)       # (F*N,)
    for h, v in (("has", "val"), ("self_has", "self_val")):
        add = bz & ~grid[h]
        grid[v][add] = 0
        grid[h][add] = True
