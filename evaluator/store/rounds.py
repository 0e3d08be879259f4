"""Rounds in the store: created or imported from a round folder, moved through their
lifecycle, materialized back into a folder (to evaluate or to export).

Lifecycle: draft → collecting → verifying → reviewing → finalized → published. Evidence is
accepted until reviewing; a finalized round refuses every change except an appeal's decision
(and publishing it). Every step is audited.
"""
from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import and_, delete, insert, select, update

from ..errors import InputError, Issue
from ..intake.evidence import verified_day
from ..intake.rounds import Round, load_round
from . import codec
from .base import Refused, Store, Tx
from .db import now
from .evidence import Submission, from_raw
from .registry import organization_of, standard_files, store_standard, sync_units
from .tables import members, round_standards, rounds, units

LIFECYCLE = ("draft", "collecting", "verifying", "reviewing", "finalized", "published")
LIFECYCLE_ZH = {"draft": "草拟", "collecting": "材料收集", "verifying": "核查", "reviewing": "审核",
                "finalized": "已定稿", "published": "已发布"}
ACCEPTS_EVIDENCE = ("draft", "collecting", "verifying")
CLOSED = ("finalized", "published")
OPEN = tuple(s for s in LIFECYCLE if s not in CLOSED)     # a round that can still be re-evaluated
# round.yaml keys that name files: the store keeps what they point at, not the paths
_PATH_KEYS = ("standards", "standards_dirs", "organizations", "evidence", "previous")


def get_round(conn, round_id: str) -> dict:
    row = conn.execute(select(rounds).where(rounds.c.id == round_id)).mappings().first()
    if row is None:
        known = [r.id for r in conn.execute(select(rounds.c.id).order_by(rounds.c.id))]
        import difflib
        hint = difflib.get_close_matches(round_id, known, 1)
        raise Refused(round_id, f"no round '{round_id}' in the store" + (f"; did you mean '{hint[0]}'?" if hint else
                                                                        f" (rounds: {', '.join(known) or 'none yet'})"))
    return dict(row)


def require_open(tx: Tx, round_id: str, what: str, allowed=ACCEPTS_EVIDENCE) -> dict:
    r = get_round(tx.conn, round_id)
    if r["state"] not in allowed:
        raise Refused(round_id, f"轮次 {round_id} 处于“{LIFECYCLE_ZH[r['state']]}”阶段，不能{what}"
                                + ("（已定稿的轮次只能通过申诉复核更正）" if r["state"] in CLOSED else ""))
    return r


def advance(store: Store, round_id: str, to: str, by: str) -> str:
    """Move a round one step along its lifecycle (never back, never skipping)."""
    if to not in LIFECYCLE:
        raise Refused(round_id, f"unknown round state '{to}' (states: {', '.join(LIFECYCLE)})")
    with store.change(by) as tx:
        r = get_round(tx.conn, round_id)
        i, j = LIFECYCLE.index(r["state"]), LIFECYCLE.index(to)
        if j != i + 1:
            raise Refused(round_id, f"轮次 {round_id} 处于“{LIFECYCLE_ZH[r['state']]}”阶段，不能直接进入"
                                    f"“{LIFECYCLE_ZH[to]}”（顺序：{' → '.join(LIFECYCLE_ZH[s] for s in LIFECYCLE)}）")
        if to == "finalized":
            from .scoring import current_evaluation
            current_evaluation(tx.conn, round_id)
        tx.conn.execute(update(rounds).where(rounds.c.id == round_id).values(state=to))
        tx.log.append("round.state", "round", round_id, {"state": r["state"]}, {"state": to})
    return to


# ------------------------------------------------------------------ import

@dataclass
class ImportReport:
    round: str
    created: bool = False
    organizations: int = 0
    units: dict = field(default_factory=dict)
    members_added: int = 0
    members_removed: int = 0
    new_versions: int = 0
    unchanged: int = 0
    withdrawn: int = 0


def _config(rnd: Round) -> str:
    cfg = {k: v for k, v in rnd.raw.items() if k not in _PATH_KEYS}
    return json.dumps(codec.encode(cfg), ensure_ascii=False, sort_keys=True)


def _previous_id(rnd: Round) -> str | None:
    if rnd.previous is None:
        return None
    from ..scoring.source import open_results
    with open_results(rnd.previous, check=False) as src:
        return src.header["round"]["id"]


def import_round(store: Store, round_yaml: Path, by: str, evidence: bool = True) -> ImportReport:
    """Load a round folder (round.yaml, its standards, registry and evidence) into the store.
    Idempotent: what is already stored, equal, adds nothing. Everything is checked as
    `agrade validate` checks it before anything is written; the import is one transaction.
    evidence=False (agrade round create): settings, standards and registry only; a new round
    starts as a draft."""
    from ..scoring.run import check_round
    rnd = load_round(round_yaml)
    if evidence:
        check_round(rnd)                          # refuses what evaluate would refuse, at its cell
    base = Path(round_yaml).resolve().parent
    report = ImportReport(rnd.id, organizations=len(rnd.organizations))
    previous = _previous_id(rnd)
    today = datetime.date.today()
    with store.change(by) as tx:
        r = tx.conn.execute(select(rounds).where(rounds.c.id == rnd.id)).mappings().first()
        config = _config(rnd)
        if previous is not None and tx.conn.execute(select(rounds.c.id).where(rounds.c.id == previous)).first() is None:
            raise Refused(str(round_yaml), f"round.yaml's previous: is round '{previous}', which is not in the store; "
                                           "import it first (agrade round import its round.yaml)")
        if r is None:
            row = {"id": rnd.id, "title": rnd.title, "issuer": rnd.issuer, "period_from": rnd.period[0],
                   "period_to": rnd.period[1], "state": "collecting" if evidence else "draft", "config": config, "previous": previous,
                   "created_at": now(), "created_by": by}
            tx.conn.execute(insert(rounds).values(**row))
            for s in {s.digest: s for s in rnd.standards.values()}.values():
                store_standard(tx, s)
            tx.conn.execute(insert(round_standards), [{"round": rnd.id, "org_type": t, "digest": s.digest}
                                                      for t, s in rnd.standards.items()])
            tx.log.append("round.create", "round", rnd.id, None, {k: str(v) for k, v in row.items() if k != "created_at"},
                          standards={t: s.digest for t, s in rnd.standards.items()})
            report.created = True
        else:
            require_open(tx, rnd.id, "导入材料")
            pinned = {x.org_type: x.digest for x in tx.conn.execute(select(round_standards).where(round_standards.c.round == rnd.id))}
            now_std = {t: s.digest for t, s in rnd.standards.items()}
            if pinned != now_std:
                changed = sorted(t for t in set(pinned) | set(now_std) if pinned.get(t) != now_std.get(t))
                raise Refused(str(round_yaml), f"轮次 {rnd.id} 创建时固定了考评标准版本，{', '.join(changed)} 的标准已不同"
                                               "（标准的版本在轮次内不能更换：新标准请建新轮次）")
            new = {"title": rnd.title, "issuer": rnd.issuer, "period_from": rnd.period[0], "period_to": rnd.period[1],
                   "config": config, "previous": previous}
            old = {k: r[k] for k in new}
            if old != new:
                tx.conn.execute(update(rounds).where(rounds.c.id == rnd.id).values(**new))
                tx.log.append("round.settings", "round", rnd.id, {k: str(v) for k, v in old.items()},
                              {k: str(v) for k, v in new.items()})
        unit_ids, report.units = sync_units(tx, rnd.organizations, today)
        _sync_members(tx, rnd, unit_ids, report)
        if evidence:
            _import_evidence(tx, rnd, base, by, report)
    return report


def _sync_members(tx: Tx, rnd: Round, unit_ids: dict[str, int], report: ImportReport) -> None:
    have = {m.organization: (m.seq, m.unit) for m in tx.conn.execute(select(members).where(members.c.round == rnd.id))}
    for seq, o in enumerate(rnd.organizations):
        want = (seq, unit_ids[o.id])
        if have.get(o.id) == want:
            continue
        if o.id in have:
            tx.conn.execute(update(members).where(and_(members.c.round == rnd.id, members.c.organization == o.id))
                            .values(seq=seq, unit=want[1]))
        else:
            tx.conn.execute(insert(members).values(round=rnd.id, organization=o.id, seq=seq, unit=want[1]))
            report.members_added += 1
    gone = sorted(set(have) - {o.id for o in rnd.organizations})
    if gone:
        tx.conn.execute(delete(members).where(and_(members.c.round == rnd.id, members.c.organization.in_(gone))))
        report.members_removed = len(gone)
        tx.log.append("round.members", "round", rnd.id, sorted(have), [o.id for o in rnd.organizations], removed=gone)


def _relative(where: dict, base: Path) -> dict:
    """File names relative to the round folder: the store must not depend on where it was."""
    rel = functools.partial(_relative_name, base=base)
    out = dict(where, file=rel(where["file"]))
    if "rows" in out:
        out["rows"] = [dict(w, file=rel(w["file"])) for w in out["rows"]]
    return out


@functools.lru_cache(maxsize=1024)        # a few files, named by every cell read from them
def _relative_name(f: str, base: Path) -> str:
    try:
        return str(Path(f).resolve().relative_to(base))
    except ValueError:
        return f


def _import_evidence(tx: Tx, rnd: Round, base: Path, by: str, report: ImportReport) -> None:
    """Every organization's evidence as read from the files, saved where it differs from what
    is stored; a stored field the files no longer give is withdrawn (a version saying so).
    One audit entry per organization whose evidence changed (before/after: each field's
    content digest). The round goes through partition by partition (intake.partition), so
    memory holds one partition's evidence, not the round's."""
    from ..intake.partition import DEFAULT_SIZE, replay, route
    router = route(rnd.evidence_paths, rnd.organizations, DEFAULT_SIZE, standards=rnd.standards)
    try:
        for k in range(router.count):
            orgs = rnd.organizations[k * router.size:(k + 1) * router.size]
            raw, _ = replay(router.partition(k))      # the files were checked: nothing is refused here
            _import_partition(tx, rnd.id, orgs, raw, base, by, report)
    finally:
        router.close()


def _import_partition(tx: Tx, round_id: str, orgs: list, raw: dict, base: Path, by: str, report: ImportReport) -> None:
    from .evidence import current_of, save_many
    ids = [o.id for o in orgs]
    have = current_of(tx.conn, round_id, ids)
    items = []
    for o in orgs:
        subs = from_raw(raw[o.id]) if o.id in raw else []
        seqs: dict[str, int] = {}
        for sub in subs:
            sub.where = _relative(sub.where, base)
            if sub.ons:
                sub.ons = [(v, _relative(w, base) if w else None) for v, w in sub.ons]
            items.append((o.id, sub, seqs.setdefault(sub.field, len(seqs))))
        given = {(s.field, s.source) for s in subs}
        for key, old in have.get(o.id, {}).items():
            if key not in given and not old.withdrawn:
                items.append((o.id, Submission(key[0], key[1], None, {"file": "(import)", "line": 0, "col": 0, "path": "$"},
                                               withdrawn=True, note="not in the imported files"), 0))
    _check_verifiers(tx, round_id, items)
    versions = save_many(tx, round_id, items, by, organizations=ids)
    changed: dict[str, list[Submission]] = {}
    for (oid, sub, _), v in zip(items, versions):
        if v is None:
            report.unchanged += 1
            continue
        if sub.withdrawn:
            report.withdrawn += 1
        else:
            report.new_versions += 1
        changed.setdefault(oid, []).append(sub)
    entries = []
    for oid, subs in changed.items():
        before = {f"{k[0]}.{k[1]}": s.content() for k, s in have.get(oid, {}).items() if not s.withdrawn}
        after = dict(before)
        for s in subs:
            if s.withdrawn:
                after.pop(f"{s.field}.{s.source}", None)
            else:
                after[f"{s.field}.{s.source}"] = s.content()
        entries.append(("evidence.import", "evidence", f"{round_id}/{oid}", before or None, after,
                        {"fields": [f"{s.field}.{s.source}" for s in subs][:50], "count": len(subs)}))
    tx.log.extend(entries)


def _check_verifiers(tx: Tx, round_id: str, items: list) -> None:
    """Verified values in the files obey the round's inspection plan (conflicts of interest),
    as one submitted through the store does; every refusal is listed, nothing is written."""
    from .inspection import verifier
    check = verifier(tx.conn, round_id)
    issues: list[Issue] = []
    seen = set()
    for oid, sub, _ in items:
        if sub.source != "verified" or not sub.inspector or sub.withdrawn:
            continue
        on = sub.ons[-1][0] if sub.ons else None
        key = (oid, sub.inspector, str(on))
        if key in seen:
            continue
        seen.add(key)
        try:
            # read as intake read it (the import was checked: it reads); none given: today
            check(oid, sub.inspector, verified_day(on, sub.where["file"]) if on not in (None, "") else None)
        except InputError as e:
            w = sub.where
            issues += [Issue(w["file"], w["line"], w["col"], w["path"], i.message) for i in e.issues]
    if issues:
        raise InputError(issues)


# ------------------------------------------------------------------ the round as a folder

class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Decimal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:float", str(v)))


def round_members(conn, round_id: str) -> list:
    q = (select(units).join(members, members.c.unit == units.c.id).where(members.c.round == round_id)
         .order_by(members.c.seq))
    return [organization_of(r) for r in conn.execute(q).mappings()]


def materialize(conn, round_id: str, folder: Path, evidence: bool = False, previous_results: Path | None = None) -> Path:
    """Write the stored round as a round folder: round.yaml, standards/ (the pinned files),
    organizations.csv and, with `evidence`, evidence/ from the current submissions. Returns
    round.yaml's path. `load_round` on it gives the round as stored."""
    r = get_round(conn, round_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evidence").mkdir(exist_ok=True)
    sdir = folder / "standards"
    sdir.mkdir(exist_ok=True)
    std_refs = {}
    for rs in conn.execute(select(round_standards).where(round_standards.c.round == round_id).order_by(round_standards.c.org_type)):
        files = standard_files(conn, rs.digest)
        for name, text in files:
            (sdir / name).write_bytes(text.encode("utf-8"))
        std_refs[rs.org_type] = f"standards/{files[-1][0]}"
    cfg = codec.decode(json.loads(r["config"]))
    doc = {**cfg, "standards": std_refs, "standards_dirs": ["standards"], "organizations": "organizations.csv",
           "evidence": ["evidence/"]}
    if previous_results is not None:
        doc["previous"] = str(previous_results)
    order = ["id", "title", "issuer", "period", "standards", "standards_dirs", "organizations", "evidence"]
    doc = {k: doc[k] for k in order if k in doc} | {k: v for k, v in doc.items() if k not in order}
    (folder / "round.yaml").write_text(yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False), encoding="utf-8")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "type", "district", "street", "parent", "responsible"])
    for o in round_members(conn, round_id):
        w.writerow([o.id, o.name, o.type, o.district, o.street, o.parent, o.responsible])
    (folder / "organizations.csv").write_text(buf.getvalue(), encoding="utf-8")
    if evidence:
        # the round's standards say which cells are dates (an Excel day number stays one only in .xlsx)
        _write_evidence(conn, round_id, folder / "evidence", load_round(folder / "round.yaml"))
    return folder / "round.yaml"


def _write_evidence(conn, round_id: str, out: Path, rnd: Round | None = None, per_file: int = 1000) -> None:
    """The current submissions as evidence documents (the YAML format every source can be
    written in), a file per thousand organizations; a street's own evidence once, as the
    street's document."""
    from .evidence import by_organization
    docs, n = [], 0
    streets: dict[str, dict] = {}
    types = {o.id: o.type for o in rnd.organizations} if rnd else {}
    fields = _LazyFields(rnd, types)

    def flush(final=False):
        nonlocal docs, n
        if docs:
            n += 1
            text = yaml.dump({"organizations": docs}, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
            (out / f"store-{n:04d}.yaml").write_text(text, encoding="utf-8")
            docs = []
    for oid, subs in by_organization(conn, round_id):
        doc = {"organization": oid}
        for s in subs:
            if s.withdrawn:
                continue
            target = doc
            if s.where.get("street"):
                target = streets.setdefault(s.where["street"], {"street": s.where["street"]})
            kind = "records" if isinstance(s.value, list) or "rows" in s.where else "values"
            value = _as_written(s, fields.get(oid, {}).get(s.field))
            value = [_record(x) for x in value] if isinstance(value, list) else value
            entry = target.setdefault(kind, {}).setdefault(s.field, {})
            entry[s.source] = value
            if s.inspector:
                entry["inspector"] = s.inspector
            if s.ons:
                entry["verified_on"] = s.ons[-1][0]
        if len(doc) > 1:
            docs.append(doc)
        if len(docs) >= per_file:
            flush()
    flush()
    if streets:
        text = yaml.dump({"organizations": list(streets.values())}, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
        (out / "store-streets.yaml").write_text(text, encoding="utf-8")


class _LazyFields(dict):
    """organization id -> its standard's fields (looked up when first asked)."""

    def __init__(self, rnd, types):
        super().__init__()
        self.rnd, self.types = rnd, types

    def get(self, oid, default=None):
        if self.rnd is None or oid not in self.types:
            return default
        return self.rnd.standards[self.types[oid]].fields


def _as_written(sub, f):
    """A value as an evidence YAML file must hold it. An Excel day number (46086) in a date or
    records cell of an .xlsx file is a date only there: written out as the date it is."""
    files = [sub.where.get("file", "")] + [r.get("file", "") for r in sub.where.get("rows", [])]
    if f is None or f.type not in ("date", "records") or not any(x.lower().endswith(".xlsx") for x in files):
        return sub.value
    from ..intake.normalize import NormalizeError, normalize
    try:
        if f.type == "date":
            if isinstance(sub.value, (int, float)) and not isinstance(sub.value, bool):
                return normalize(sub.value, f, excel=True)
            return sub.value
        return [_row_day(x, f) for x in sub.value] if isinstance(sub.value, list) else sub.value
    except NormalizeError:
        return sub.value                    # refused when read, as it was in the original


def _row_day(x, f):
    from ..intake.normalize import normalize
    if isinstance(x, dict) and isinstance(x.get("date"), (int, float)) and not isinstance(x.get("date"), bool):
        rec = normalize([x], f, excel=True)[0]
        return {"date": rec.date, "title": rec.title} if rec.title else {"date": rec.date}
    return x


def _record(x):
    from ..model import Record
    if isinstance(x, Record):
        return {"date": x.date, "title": x.title} if x.title else {"date": x.date}
    return x


@dataclass
class Materialized:
    folder: Path
    round: Round
    expired: list = field(default_factory=list)      # waivers past their expiry: not applied, flagged

    def close(self) -> None:
        import shutil
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_round(conn, round_id: str, keep: Path | None = None) -> Materialized:
    """The stored round loaded as agrade loads a folder (standards compiled from their pinned
    files, every check run again), in a temporary folder unless `keep` names one."""
    folder = keep or Path(tempfile.mkdtemp(prefix="agrade-round-"))
    prev = None
    r = get_round(conn, round_id)
    if r["previous"]:
        from .scoring import write_results
        prev = folder / "previous"
        write_results(conn, r["previous"], prev)
    path = materialize(conn, round_id, folder, previous_results=prev)
    try:
        rnd = load_round(path)
    except InputError as e:
        raise InputError([Issue(round_id, 0, 0, "$", "the stored round does not load (see below)")] + e.issues) from None
    from .waivers import in_force
    active, expired = in_force(conn, round_id)
    rnd.waivers.update(active)
    return Materialized(folder, rnd, expired)
