"""A partition's evidence resolved column-wise from its bulk CSV rows.

Most of a large round's evidence is rows of values.csv and records.csv, and nearly all of
them are plain: one row per organization and field, an inspector beside every verified
value. Replaying such rows one cell at a time into the collector (a RawEntry per field, a
location per cell) and resolving them field by field was about 40% of evaluating a round.
Here a partition's bulk rows stay Arrow columns: each column is dictionary-encoded, so
each distinct spelling is stripped and checked once, and each distinct (standard, field,
text) is normalized once; duplicates, the grouping of records and their order are numpy
work on integer codes. Each field then goes into its organization's Evidence through the
very code resolve() ends with (evidence.settle, settle_self, bulk_records).

What is not plain is left to the general path (partition.replay_pieces, then resolve()),
which stays the reference for every message: an organization with a value given twice, a
verified value without its inspector, a blank field cell, an unknown source or field, a
value or date that normalize refuses, a record row it refuses, or evidence also given in a
YAML/JSON/XLSX document or by its street, is replayed and resolved there, in full, from its
own rows. Only such organizations have problems to report, so the issues come out in the
order of the general path alone.
"""
from __future__ import annotations

import datetime
import itertools
import operator
from itertools import islice
from typing import Iterable, NamedTuple

from ..errors import Issue
from ..model import Evidence, Finding, Organization, Record, Standard
from .evidence import (DATE_TITLE, SOURCE_WORDS, blank_as_zero, bulk_records, says_none, is_blank, records_as_put,
                       resolve, settle, settle_mismatch, settle_self, verified_day)
from .normalize import REFUSED, FieldMemo, NormalizeError, normalize, normalize_texts, positions_of
from .partition import arrow_table, arrow, replay_pieces

_SOURCES = ("self", "verified")
# where a bulk row is, for evidence.bulk_records: anything it refuses sends the organization
# the general way, which says where (a .csv name: a number is never an Excel day number)
_NOWHERE = Issue("bulk.csv", 0, 0, "$", "")
_NOT_PUT = object()                   # a values row's verified cell that puts nothing
_FIRST = operator.itemgetter(0)
_DATE, _TITLE = operator.attrgetter("date"), operator.attrgetter("title")
_NOTHING_BROKEN = frozenset()         # for blank_as_zero: the columnar path settles only fields it read


class PartitionEvidence(NamedTuple):
    evidence: dict[str, Evidence]     # by organization, in the partition's registry order
    put_issues: list[Issue]           # found putting the evidence together (duplicates, blank cells)
    issues: list[Issue]               # found resolving it, organization after organization
    general: int                      # organizations the general path read (0: all column-wise)


def partition_evidence(pieces: Iterable[tuple], organizations: list[Organization],
                       standards: dict[str, Standard]) -> PartitionEvidence:
    """A partition's pieces (Router.pieces, or partition.unpickled) resolved against each
    organization's standard: what replay_pieces and then resolve() per organization give."""
    arrow()
    orgs = list(organizations)
    bulk = _Bulk(list(pieces), orgs, standards)
    evidence: dict[str, Evidence | None] = dict.fromkeys(o.id for o in orgs)
    if not bulk.whole:
        bulk.resolve_plain(evidence)
    general = int(bulk.general.sum())
    raw, put_issues, issues = {}, [], []
    if general:
        raw, put_issues = replay_pieces(bulk.general_pieces())
    for o in orgs:
        if evidence[o.id] is None:     # the general path's, or no evidence at all
            ev, errs = resolve(raw.pop(o.id, None), o.id, standards[o.type])
            evidence[o.id] = ev
            issues += errs
    return PartitionEvidence(evidence, put_issues, issues, general)


def _coded(column, strip: bool = False) -> tuple:
    """A column of text as (row -> code, code -> distinct text), stripped if asked: each
    distinct spelling is then handled once, in Python, exactly as the row readers handle it."""
    import numpy as np
    arr = column.combine_chunks().dictionary_encode()
    texts = arr.dictionary.to_pylist()
    return arr.indices.to_numpy(zero_copy_only=False).astype(np.int64), [t.strip() for t in texts] if strip else texts


def _distinct(keys, bound: int) -> tuple:
    """np.unique(keys, return_inverse=True) for keys in 0..bound-1: marked in a table
    rather than sorted when the table is not much larger than the keys (measured: twice as
    fast up to about ten times as large), as codes' keys are."""
    import numpy as np
    if bound > 12 * len(keys) + 65536:
        distinct, inverse = np.unique(keys, return_inverse=True)
        return distinct, inverse.reshape(-1)
    seen = np.zeros(bound, dtype=bool)
    seen[keys] = True
    distinct = np.flatnonzero(seen)
    at = np.empty(bound, dtype=np.int64)
    at[distinct] = np.arange(len(distinct))
    return distinct, at[keys]


def _objects(items: list):
    """The items as a numpy object array, each one element (a tuple of records too)."""
    import numpy as np
    return np.fromiter(items, dtype=object, count=len(items))


def _flags(items: list, test=bool):
    """test(item) for each item, as a numpy bool array (iterated in C: with a builtin test,
    such as str.strip, no Python call per item)."""
    import numpy as np
    return np.fromiter(map(bool, map(test, items)), dtype=bool, count=len(items))


def _are(items: list, what):
    """item is what, for each item, as a numpy bool array (iterated in C)."""
    import numpy as np
    return np.fromiter(map(operator.is_, items, itertools.repeat(what)), dtype=bool, count=len(items))


class _Bulk:
    """A partition's bulk rows as integer columns: every values row that puts a value, every
    records row; the organizations left to the general path (`general`)."""

    def __init__(self, pieces: list[tuple], orgs: list[Organization], standards: dict[str, Standard]):
        import numpy as np
        self.pieces, self.orgs = pieces, orgs
        self.index = {o.id: i for i, o in enumerate(orgs)}
        self.general = np.zeros(len(orgs), dtype=bool)
        self.whole = False                      # the whole partition goes the general way
        self.fids: dict[str, int] = {}          # field id -> code, over the partition
        # partition-wide lists of distinct texts; code 0 stands for a column a file lacks
        self.vocab: dict[str, list] = {"inspector": [None], "on": [""], "self": [""], "verified": [""], "rec": [None]}
        self.piece_orgs: list = []              # per piece: each row's organization (None: entries)
        values, records = [], []
        seq = 0
        for piece in pieces:
            if piece[0] == "entries":           # a document's, a workbook's, a street's evidence
                self.piece_orgs.append(None)
                at = [self.index.get(e[0], -1) for e in piece[1]]
                if -1 in at:
                    self.whole = True
                    break
                self.general[at] = True
                continue
            _, kind, name, head, data, numbers = piece
            table = arrow_table(data)
            cols = self._columns(kind, head, table, seq)
            if cols is None:
                self.whole = True
                break
            self.piece_orgs.append(cols["org"])
            (values if kind == "values" else records).append(cols)
            seq += table.num_rows
        if self.whole:                          # evidence of an organization not in the partition
            self.general[:] = True
            return
        self.fid_names = list(self.fids)
        std_ids = {}
        self.std_of = np.array([std_ids.setdefault(id(standards[o.type]), len(std_ids)) for o in orgs], dtype=np.int64)
        by_code = {id(standards[o.type]): standards[o.type] for o in orgs}
        self.stds = [by_code[k] for k in std_ids]
        # at standard * len(fid_names) + field: its Field (one instance for equal ones, see
        # _same_field), and that Field's number in `self.kinds` (0: the standard has no such field)
        flat = [_same_field(s.fields.get(name)) for s in self.stds for name in self.fid_names]
        self.field_objects = _objects(flat)
        number = {None: 0}
        self.field_kind = np.array([number.setdefault(f, len(number)) for f in flat], dtype=np.int64)
        self.kinds = list(number)
        self.records_field = _flags(flat, lambda f: f is not None and f.type == "records")
        self.zero_blank = {id(s): any(f.blank == "zero" for f in s.fields.values()) for s in self.stds}
        self._dates()
        self._values(values)
        self._records(records)

    # ------------------------------------------------------------ reading one piece

    def _codes(self, name: str, codes, texts: list):
        """A piece's codes of a column as codes into the partition's list of its texts."""
        vocab = self.vocab[name]
        base = len(vocab)
        vocab += texts
        return codes + base

    def _columns(self, kind: str, head: dict, table, seq: int) -> dict | None:
        """One piece's columns, one entry per row; None when a row's organization, read as the
        row readers read it, is not one of the partition's (the general path decides then)."""
        import numpy as np
        n = table.num_rows
        codes, texts = _coded(table.column(head["organization"]), strip=True)
        org = np.array([self.index.get(t, -1) for t in texts], dtype=np.int64)[codes]
        if (org < 0).any():
            return None
        codes, texts = _coded(table.column(head["field"]), strip=True)
        cols = {"org": org, "seq": np.arange(seq, seq + n),
                "fid": np.array([self.fids.setdefault(t, len(self.fids)) for t in texts], dtype=np.int64)[codes]}
        for name in ("inspector", "verified_on"):
            key = "on" if name == "verified_on" else name
            if name in head:       # a blank cell: code 0, as when the file has no such column
                codes, texts = _coded(table.column(head[name]), strip=name == "inspector")
                cols[key] = np.where(_flags(texts)[codes], self._codes(key, codes, texts), 0)
            else:
                cols[key] = np.zeros(n, dtype=np.int64)
        if kind == "values":
            # a blank field is refused at its row, before any value of the row is put
            self.general[org[cols["fid"] == self.fids.get("", -1)]] = True
            for s in _SOURCES:
                if s in head:
                    codes, texts = _coded(table.column(head[s]))
                    cols[s] = self._codes(s, codes, texts)
                    # a blank cell puts no value, except a verified cell beside an inspector:
                    # the inspector's "nothing found"
                    cols["put_" + s] = _flags(texts, str.strip)[codes]
                else:
                    cols[s] = np.zeros(n, dtype=np.int64)
                    cols["put_" + s] = np.zeros(n, dtype=bool)
            if "verified" in head:
                cols["put_verified"] |= cols["inspector"] != 0
        else:
            self._record_cells(head, table, n, cols)
        return cols

    def _record_cells(self, head, table, n, cols) -> None:
        """A records row's source (-1: not one records_rows knows) and record, as records_rows
        puts it: a Record for the plain row, {date, title} as typed for any other."""
        import numpy as np
        if "source" in head:
            codes, texts = _coded(table.column(head["source"]), strip=True)
            cols["src"] = np.array([{"self": 0, "verified": 1}.get(SOURCE_WORDS.get(t), -1) for t in texts],
                                   dtype=np.int64)[codes]
        else:
            cols["src"] = np.zeros(n, dtype=np.int64)
        d_codes, days = _coded(table.column(head["date"]))
        if "title" in head:
            t_codes, titles = _coded(table.column(head["title"]), strip=True)
        else:
            t_codes, titles = np.zeros(n, dtype=np.int64), [""]
        pairs, inverse = _distinct(d_codes * len(titles) + t_codes, len(days) * len(titles))
        day, title = np.divmod(pairs, len(titles))
        recs = records_as_put(list(map(days.__getitem__, day.tolist())), list(map(titles.__getitem__, title.tolist())))
        cols["rec"] = self._codes("rec", inverse, recs)

    # ------------------------------------------------------------ the partition's rows together

    def _dates(self) -> None:
        """Each distinct verification date once: given (not an empty cell: it is checked),
        read (ISO text or None), refused."""
        import numpy as np
        read, bad = [], []
        for t in self.vocab["on"]:
            try:
                day = verified_day(t, "") if t else None
                read.append(day.isoformat() if day is not None else None)
                bad.append(False)
            except NormalizeError:
                read.append(None)
                bad.append(True)
        self.on_given = _flags(self.vocab["on"])
        self.on_read, self.on_bad = read, np.array(bad, dtype=bool)

    def _key(self, org, fid):
        return org * (len(self.fids) + 1) + fid

    def _values(self, pieces: list[dict]) -> None:
        """Every values row that puts a value, normalized per distinct (standard, field, text),
        and what marks its organization: a date, value or field refused, a verified value
        without its inspector, a field given twice (in one file or two)."""
        import numpy as np
        self.v = v = _concat(pieces, ("org", "fid", "seq", "inspector", "on", "self", "verified", "put_self",
                                      "put_verified"))
        if v is None:
            return
        puts = v["put_self"] | v["put_verified"]
        for k in v:
            v[k] = v[k][puts]
        org, general = v["org"], self.general
        general[org[self.on_given[v["on"]] & self.on_bad[v["on"]]]] = True
        keys = self._key(org, v["fid"])
        twice = np.bincount(keys, minlength=len(self.orgs) * (len(self.fids) + 1))[keys] > 1
        general[org[twice]] = True
        std = self.std_of[org]
        fields = self.field_objects[std * len(self.fid_names) + v["fid"]]
        # a verified value needs its inspector; an empty one without is no value at all
        no_inspector = v["put_verified"] & (v["inspector"] == 0)
        if no_inspector.any():
            blank = self._read(std, v["fid"], v["verified"], "verified", no_inspector, blank=True)
            general[org[no_inspector & ~blank]] = True
            v["put_verified"] &= ~no_inspector
        self_v, bad, self_none = self._read(std, v["fid"], v["self"], "self", v["put_self"])
        general[org[bad]] = True
        verified, bad, verified_none = self._read(std, v["fid"], v["verified"], "verified", v["put_verified"])
        general[org[bad]] = True
        verified[~v["put_verified"]] = _NOT_PUT
        v["field"], v["self_v"], v["verified_v"], v["self_none"] = fields, self_v, verified, self_none
        v["blank"] = v["put_verified"] & verified_none           # the inspector's "nothing found"
        # the texts a self-report mismatch depends on: the finding is made once per distinct key
        v["texts"] = (self.field_kind[std * len(self.fid_names) + v["fid"]] * len(self.vocab["self"]) + v["self"]) \
            * len(self.vocab["verified"]) + v["verified"]

    def _read(self, std, fid, codes, column: str, rows, blank: bool = False):
        """For `rows`: each cell's text normalized for its field, whether normalize refused it
        and whether it is no value (None; every row not in `rows` is); with blank=True: whether
        it is blank for its field, as resolve() asks. Each distinct (field, text) is read
        once, a field's texts together (normalize_texts)."""
        import numpy as np
        texts = self.vocab[column]
        width = len(texts)
        key = self.field_kind[std[rows] * len(self.fid_names) + fid[rows]] * width + codes[rows]
        distinct, inverse = _distinct(key, len(self.kinds) * width)
        kind, code = np.divmod(distinct, width)
        starts = np.flatnonzero(np.r_[True, kind[1:] != kind[:-1]]) if len(kind) else kind
        got = []
        for a, b in zip(starts.tolist(), np.r_[starts[1:], len(kind)].tolist()):
            f = self.kinds[kind[a]]
            if f is None or f.type == "records":   # unknown, or records written in one cell: refused
                got += [None if blank else REFUSED] * (b - a)
                continue
            cells = list(map(texts.__getitem__, code[a:b].tolist()))
            got += [is_blank(t, f.type) for t in cells] if blank else normalize_texts(cells, f)
        if blank:
            out = np.zeros(len(rows), dtype=bool)
            out[rows] = np.array(got, dtype=bool)[inverse]
            return out
        refused, none = _are(got, REFUSED), _are(got, None)
        none |= refused
        values = np.full(len(rows), None, dtype=object)
        values[rows] = np.where(refused, None, _objects(got))[inverse]
        bad = np.zeros(len(rows), dtype=bool)
        bad[rows] = refused[inverse]
        is_none = np.ones(len(rows), dtype=bool)
        is_none[rows] = none[inverse]
        return values, bad, is_none

    def _records(self, pieces: list[dict]) -> None:
        """Records rows grouped by organization and field; within a group, by source and in
        record order (the order a field's tuple holds them), each source where it first came;
        the group's last inspector and date in reading order, as the collector keeps them."""
        import numpy as np
        self.r = r = _concat(pieces, ("org", "fid", "seq", "inspector", "on", "src", "rec"))
        self.groups = None
        if r is None:
            return
        org, general = r["org"], self.general
        recs, plain, rank, same = self._records_read(r)
        general[org[(r["src"] < 0) | (self.on_given[r["on"]] & self.on_bad[r["on"]])]] = True
        # (a field given both as values and as records is no field's plain evidence: values
        # rows of a records field, records rows of any other, send the organization the general way)
        keys = self._key(org, r["fid"])
        n = len(keys)
        # (a) by group, in reading order: its first row, its last inspector and date
        order = np.argsort(keys, kind="stable")
        k = keys[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        insp, on = r["inspector"][order], r["on"][order]
        last_insp, last_on = _last(insp, insp != 0, starts), _last(on, self.on_given[on], starts)
        g_org, g_fid = k[starts] // (len(self.fids) + 1), k[starts] % (len(self.fids) + 1)
        at = self.std_of[g_org] * len(self.fid_names) + g_fid
        fields = self.field_objects[at]
        general[g_org[~self.records_field[at]]] = True
        # (b) by group, source and record: each source's records and where it first came
        # (one int64 key sorts faster than lexsort's three: source is -1 to 1, rank -1 and up)
        order_s = np.argsort((keys * 3 + r["src"] + 1) * (int(rank.max()) + 2) + rank + 1, kind="stable")
        ks, ss = keys[order_s], r["src"][order_s]
        seg = np.flatnonzero(np.r_[True, (ks[1:] != ks[:-1]) | (ss[1:] != ss[:-1])])
        seg_group = np.searchsorted(k[starts], ks[seg])
        # a source listing a record twice: equal records sort next to each other within it
        same_s = same[order_s]
        twice = np.r_[False, (same_s[1:] == same_s[:-1]) & (same_s[1:] >= 0)]
        twice[seg] = False                      # (the row before a segment's first is another's)
        seg_twice = np.logical_or.reduceat(twice, seg)
        has_self, has_verified = np.zeros(len(starts), dtype=bool), np.zeros(len(starts), dtype=bool)
        has_self[seg_group[ss[seg] == 0]] = True
        has_verified[seg_group[ss[seg] == 1]] = True
        general[g_org[has_verified & (last_insp == 0)]] = True   # verified records need their inspector
        self.recs = recs
        sorted_recs = recs[order_s].tolist()
        ends, seg_plain = np.r_[seg[1:], n], np.minimum.reduceat(plain[order_s], seg)
        # the usual field: each source's rows all plain records, none listed twice: a tuple per
        # source (the order the sources came in matters only to settle(), for a record listed
        # twice; a field given by both sources was half the fields settled one by one)
        unusual = np.zeros(len(starts), dtype=bool)
        unusual[seg_group[~(seg_plain & ~seg_twice & (ss[seg] >= 0))]] = True
        usual = ~unusual[seg_group]
        self.usual = (seg_group[usual], ss[seg][usual], _runs(sorted_recs, seg[usual], ends[usual]))
        # any other, by group: each source's records, a tuple in record order when its rows are
        # all plain, else where its rows are (read by bulk_records when resolved), and whether
        # one is listed twice; sources in the order given
        segments: dict[int, list] = {}
        other = ~usual
        for g, first, a, b, s, p, dup in zip(seg_group[other].tolist(),
                                             np.minimum.reduceat(r["seq"][order_s], seg)[other].tolist(),
                                             seg[other].tolist(), ends[other].tolist(), ss[seg][other].tolist(),
                                             seg_plain[other].tolist(), seg_twice[other].tolist()):
            segments.setdefault(g, []).append((first, _SOURCES[s] if s >= 0 else None,
                                               tuple(sorted_recs[a:b]) if p else None, a, b, dup))
        for segs in segments.values():
            if len(segs) > 1:
                segs.sort(key=_FIRST)
        self.segments = segments
        self.groups = {"org": g_org, "first": r["seq"][order][starts], "fid": g_fid, "field": fields,
                       "inspector": last_insp, "on": last_on, "has_self": has_self, "has_verified": has_verified}
        self.order_s = order_s

    def _records_read(self, r) -> tuple:
        """Each records row's record, whether it is one (plain), its rank in record order (-1:
        none) and a number it shares with equal records only (-1: none; a date spelled two ways
        is one record): the common row was read when put; any other is read here, once per
        distinct row, as bulk_records reads it (normalize) — one record, or the row left as it
        is, for bulk_records when resolved (无), or refused (the organization goes the general
        way). Ranks come from sorting the distinct records."""
        import numpy as np
        vocab = self.vocab["rec"]
        ids = r["rec"].copy()                   # row -> its record in `pool`
        pool = list(vocab)
        is_record = _are(list(map(type, vocab)), Record)
        odd = np.flatnonzero(~is_record[ids])
        if len(odd):
            read = self._odd_records(r, odd, ids)
            pool += read
            is_record = np.concatenate((is_record, _are(list(map(type, read)), Record)))
        plain = is_record[ids]
        # sorted by (date, title) as Record sorts, stable: as numbers (the day's ordinal, the
        # title's rank among the titles), which numpy sorts; comparing Records or (date, title)
        # tuples one pair at a time was 4% of the columnar intake
        records = np.flatnonzero(is_record)
        recs = list(map(pool.__getitem__, records.tolist()))
        days = np.array(list(map(datetime.date.toordinal, map(_DATE, recs))), dtype=np.int64)
        titles = list(map(_TITLE, recs))
        rank = {t: i for i, t in enumerate(sorted(set(titles)))}
        titles = np.array(list(map(rank.__getitem__, titles)), dtype=np.int64)
        by_key = np.lexsort((titles, days))
        order, days, titles = records[by_key], days[by_key], titles[by_key]
        rank_of = np.full(len(pool), -1, dtype=np.int64)
        rank_of[order] = np.arange(len(order))
        same_of = np.full(len(pool), -1, dtype=np.int64)
        same_of[order] = np.cumsum(np.r_[True, (days[1:] != days[:-1]) | (titles[1:] != titles[:-1])]) - 1
        return _objects(pool)[ids], plain, rank_of[ids], same_of[ids]

    def _odd_records(self, r, odd, ids) -> list:
        """The rows `odd` (not a plain record when put) of records fields read, once per
        distinct row (a records row reads the same for every records field); `ids` of those
        read as one record point past the distinct rows (returned, None where not read) to
        that record."""
        import numpy as np
        vocab = self.vocab["rec"]
        n_fid = len(self.fid_names)
        at = self.std_of[r["org"][odd]] * n_fid + r["fid"][odd]
        odd = odd[self.records_field[at]]       # (a row of another field: its organization goes the general way)
        distinct, first, inverse = np.unique(r["rec"][odd], return_index=True, return_inverse=True)
        fields = self.field_objects[at[self.records_field[at]][first]].tolist()
        rows = list(map(vocab.__getitem__, distinct.tolist()))
        # (read before: looked up at once; a row that says none is never kept)
        got = _ODD_READ.known(_ANY_RECORDS, [(row["date"], row.get("title", "")) for row in rows])
        for i in positions_of(got, FieldMemo.UNREAD):
            got[i] = None if says_none(rows[i]) else _odd_record(fields[i], rows[i])
        refused = positions_of(got, REFUSED)
        for i in refused:
            got[i] = None
        inverse = inverse.reshape(-1)
        self.general[r["org"][odd[np.isin(inverse, refused)]]] = True
        now = ~_are(got, None)[inverse]
        ids[odd[now]] = len(vocab) + inverse[now]
        return got

    # ------------------------------------------------------------ into the evidence

    def _group_sources(self) -> tuple:
        """Each records field of an organization not left to the general path, its sources
        read: per group, the self records (None: not given), the verified ones (_NOT_PUT: not
        given); and by group, `got` ({source: records} in the order given) where a source may
        list a record twice, for settle() to find it. Rows written otherwise than the common
        way are read here by bulk_records; an organization with a row it refuses goes the
        general way."""
        import numpy as np
        g_org = self.groups["org"]
        selfs, verifieds = np.full(len(g_org), None, dtype=object), np.full(len(g_org), _NOT_PUT, dtype=object)
        group, source, records = self.usual
        records = _objects(records)
        selfs[group[source == 0]], verifieds[group[source == 1]] = records[source == 0], records[source == 1]
        twice, fallen = {}, []
        fields = self.groups["field"]
        for i, segments in self.segments.items():
            if self.general[g_org[i]]:
                continue
            got = self._records_of(fields[i], segments)
            if got is None:
                fallen.append(g_org[i])
                continue
            if not all(seg[2] is not None and not seg[5] for seg in segments) \
                    and any(len(set(map(DATE_TITLE, rs))) < len(rs) for rs in got.values()):
                twice[i] = got
            selfs[i], verifieds[i] = got.get("self"), got.get("verified", _NOT_PUT)
        self.general[fallen] = True
        return selfs, verifieds, twice

    def _items(self) -> dict | None:
        """Every field given by an organization not left to the general path, as columns (one
        entry per field), in registry order, each organization's fields in the order they were
        first given (as resolve() goes through them): org, name (field id), field (Field),
        self (value or records, None: none), self_none, verified (_NOT_PUT: not given),
        is_verified, inspector and on (verified_on) as codes, texts (a value's two texts as one
        number, for its mismatch finding; -1 for records), got (see _group_sources), slow
        (settle() has to see it: an inspector's "nothing found", a record listed twice)."""
        import numpy as np
        names = _objects(self.fid_names)
        parts = []
        if self.v is not None:
            v = self.v
            parts.append({"org": v["org"], "first": v["seq"], "name": names[v["fid"]], "field": v["field"],
                          "self": v["self_v"], "verified": v["verified_v"], "is_verified": v["put_verified"],
                          "self_none": v["self_none"], "inspector": v["inspector"], "on": v["on"],
                          "texts": v["texts"], "got": np.full(len(v["org"]), None, dtype=object), "slow": v["blank"]})
        if self.groups is not None:
            g = self.groups
            selfs, verifieds, twice = self._group_sources()
            got, slow = np.full(len(g["org"]), None, dtype=object), np.zeros(len(g["org"]), dtype=bool)
            got[list(twice)], slow[list(twice)] = _objects(list(twice.values())), True
            parts.append({"org": g["org"], "first": g["first"], "name": names[g["fid"]], "field": g["field"],
                          "self": selfs, "verified": verifieds, "is_verified": g["has_verified"],
                          "self_none": ~g["has_self"], "inspector": g["inspector"], "on": g["on"],
                          "texts": np.full(len(g["org"]), -1, dtype=np.int64), "got": got, "slow": slow})
        if not parts:
            return None
        org = np.concatenate([p["org"] for p in parts])
        keep = np.flatnonzero(~self.general[org])
        order = keep[np.lexsort((np.concatenate([p["first"] for p in parts])[keep], org[keep]))]
        return {k: np.concatenate([p[k] for p in parts])[order] for k in parts[0] if k != "first"}

    def resolve_plain(self, evidence: dict) -> None:
        """Every organization not left to the general path, field by field, into `evidence`.
        A records row bulk_records refuses sends its organization the general way still.
        Nearly every organization's fields are settled column-wise (_settle_columns); one with
        a field settle() has to see (an inspector's "nothing found", a record listed twice:
        findings and notes that depend on what came before) is settled field by field."""
        import numpy as np
        items = self._items()
        if items is None:
            return
        slow_org = np.zeros(len(self.orgs), dtype=bool)
        slow_org[items["org"][items["slow"]]] = True
        slow = slow_org[items["org"]]
        if slow.any():
            self._settle_cells(evidence, {k: a[slow] for k, a in items.items()})
            items = {k: a[~slow] for k, a in items.items()}
        self._settle_columns(evidence, items)

    def _settle_cells(self, evidence: dict, items: dict) -> None:
        """Organizations field by field, through settle() and settle_self() as resolve() does."""
        ev = std = None
        current = -1
        inspectors = _objects(self.vocab["inspector"])[items["inspector"]]
        days = _objects(self.on_read)[items["on"]]
        for org_i, fid, f, self_v, verified, inspector, on, got in zip(
                *(items[k].tolist() for k in ("org", "name", "field", "self", "verified")), inspectors.tolist(),
                days.tolist(), items["got"].tolist()):
            if org_i != current:
                if ev is not None:
                    self._done(evidence, ev, std)
                current = org_i
                ev, std = Evidence(self.orgs[org_i].id), self.stds[self.std_of[org_i]]
            if got is not None:                  # records a source may list twice: settle finds them
                settle(ev, f, got, inspector, on)
            elif verified is _NOT_PUT:
                settle_self(ev, fid, self_v)
            else:
                # (no self value, or one read as blank: None, which settle reads as none; records
                # here list none twice, as _group_sources found)
                settle(ev, f, {"self": self_v, "verified": verified}, inspector, on, True)
        if ev is not None:
            self._done(evidence, ev, std)

    def _settle_columns(self, evidence: dict, items: dict) -> None:
        """Organizations whose fields settle() would settle one by one without looking at what
        came before: each dict of their Evidence built at once from the columns, with what
        settle() and settle_self() put in it, in the same order. The verified value wins (the
        self value when none is), provenance says which, the self value is kept on its own,
        and a self value beside a verified one may make a mismatch finding (settle_mismatch)."""
        import numpy as np
        org, verified = items["org"], items["is_verified"]
        n_orgs = len(self.orgs)
        given = ~items["self_none"]
        put = verified | given                   # settle_self puts nothing for no value
        names = items["name"][put].tolist()
        values = np.where(verified, items["verified"], items["self"])[put].tolist()
        sources = self._provenance(verified[put], items["inspector"][put], items["on"][put])
        self_names, self_values = items["name"][given].tolist(), items["self"][given].tolist()
        n_put, n_given = np.bincount(org[put], minlength=n_orgs), np.bincount(org[given], minlength=n_orgs)
        findings = self._findings(items, verified & given)
        ids = [o.id for o in self.orgs]
        present = np.flatnonzero(np.bincount(org, minlength=n_orgs))
        # each organization's entries are the next ones of each column (islice: no list sliced)
        put_values, put_sources, self_pairs = zip(names, values), zip(names, sources), zip(self_names, self_values)
        stds = list(map(self.stds.__getitem__, self.std_of[present].tolist()))
        for i, a, c, std in zip(present.tolist(), n_put[present].tolist(), n_given[present].tolist(), stds):
            ev = Evidence(ids[i], values=dict(islice(put_values, a)), self_values=dict(islice(self_pairs, c)),
                          provenance=dict(islice(put_sources, a)), findings=findings.get(i, []))
            self._done(evidence, ev, std)

    def _provenance(self, verified, inspector, on) -> list[dict]:
        """Each field's provenance as settle() and settle_self() write it: {source: self}, or
        {source: verified, inspector, verified_on}. Equal ones are one dict, shared by every
        field and organization that has it (a provenance is never changed once settled: asof
        and the results copy what they change); a dict per field was a million dicts and 0.2
        CPU-s of a 20,000-organization round."""
        import numpy as np
        n_on = len(self.on_read)
        distinct, inverse = _distinct((inspector * n_on + on)[verified], len(self.vocab["inspector"]) * n_on)
        made = [{"source": "verified", "inspector": self.vocab["inspector"][who], "verified_on": self.on_read[day]}
                for who, day in (divmod(k, n_on) for k in distinct.tolist())]
        out = np.full(len(verified), None, dtype=object)
        out[:] = [{"source": "self"}]            # one dict: every entry points at it
        out[verified] = _objects(made)[inverse]
        return out.tolist()

    def _findings(self, items: dict, both) -> dict[int, list]:
        """The mismatch findings of fields given both self-assessed and verified, by
        organization in field order: a value's finding made once per distinct (standard,
        field, self text, verified text), each organization given its own copy."""
        import numpy as np
        rows = np.flatnonzero(both)
        texts = items["texts"][rows]
        values = rows[texts >= 0]
        _, first, inverse = np.unique(texts[texts >= 0], return_index=True, return_inverse=True)
        # (one value, read from two texts alike, agrees with itself: a field's tolerance is never
        # negative, the standard loader refuses one; half the pairs of the demo)
        made = [None if s is v else settle_mismatch(f, s, v) for f, s, v in zip(
            *(items[k][values[first]].tolist() for k in ("field", "self", "verified")))]
        inverse = inverse.reshape(-1)
        hit = ~_are(made, None)[inverse]
        by_row = dict(zip(values[hit].tolist(), [made[k] for k in inverse[hit].tolist()]))
        # a records field's finding goes by how many records each source lists: made once per
        # (field, counts) in the partition
        records = rows[texts < 0]
        by_counts: dict = {}
        for r, f, s, v in zip(records.tolist(), items["field"][records].tolist(), items["self"][records].tolist(),
                              items["verified"][records].tolist()):
            key = (id(f), len(s), len(v))
            if key not in by_counts:
                by_counts[key] = settle_mismatch(f, s, v)
            finding = by_counts[key]
            if finding is not None:
                by_row[r] = finding
        out: dict[int, list] = {}
        at = sorted(by_row)
        for i, r in zip(items["org"][at].tolist(), at):   # (a copy: Finding(**vars) is a third of replace())
            out.setdefault(i, []).append(Finding(**vars(by_row[r])))
        return out

    def _done(self, evidence: dict, ev: Evidence, std: Standard) -> None:
        """An organization's evidence complete, as resolve() ends it: each `blank: zero` field
        it left out is 0 (none in most standards: blank_as_zero, which looks at every field,
        is then not asked, 20,000 times)."""
        if self.zero_blank[id(std)]:
            blank_as_zero(ev, std, _NOTHING_BROKEN)
        evidence[ev.organization] = ev

    def _records_of(self, f, segments) -> dict | None:
        """A records field's tuples by source, in the order the sources first came; None when
        a row is refused."""
        got = {}
        for _, source, records, a, b, _ in segments:
            if records is None:
                # a date written otherwise, or 无: the rows in reading order, as resolve() reads them
                import numpy as np
                rows = self.recs[np.sort(self.order_s[a:b])].tolist()
                refused: list[Issue] = []
                records = bulk_records(refused, f, rows, [_NOWHERE] * len(rows))
                if refused:
                    return None
            got[source] = records
        return got

    # ------------------------------------------------------------ what the general path reads

    def general_pieces(self):
        """The pieces, with only the rows of the organizations left to the general path."""
        import pyarrow as pa
        if self.whole:
            yield from self.pieces
            return
        for piece, org in zip(self.pieces, self.piece_orgs):
            if org is None:                      # entries: every one of them is read the general way
                yield piece
                continue
            mask = self.general[org]
            if mask.any():
                _, kind, name, head, data, numbers = piece
                yield ("csv", kind, name, head, arrow_table(data).filter(pa.array(mask)), numbers[mask])


# a records row written otherwise than the common way (2026/1/5, 2026年1月5日...) read once per
# process rather than once per partition, as normalize keeps the texts it read (the same
# spellings recur in every partition: 0.3 of a 20,000-organization round's 3.4 CPU-s of
# intake); and once for all records fields, kept under _ANY_RECORDS: normalize reads a records
# row without looking at its field (its type aside), so reading it per field read each
# spelling up to 20 times (the differential test, over every standard, would see a difference)
_ODD_READ = FieldMemo(50_000)
_ANY_RECORDS = object()


def _odd_record(f, row: dict):
    """A records row ({date, title} as put) read for a records field f: its one Record, None
    when it is not one record (left to bulk_records, which reads it again), REFUSED."""
    key = (row["date"], row.get("title", ""))
    read = _ODD_READ.get(_ANY_RECORDS, key)
    if read is FieldMemo.UNREAD:
        try:
            one = normalize([row], f)
            read = one[0] if len(one) == 1 else None
        except NormalizeError:
            read = REFUSED
        _ODD_READ.keep(_ANY_RECORDS, key, read)
    return read


# equal Fields (the same id, label, type, bounds... in two standards: 266 fields of the six
# standards in rules/ are 98 distinct ones) are one instance here, so that what normalize reads
# for one it keeps for all (its memo goes by the field's identity); forgotten all at once when
# many (rounds of other standards in a long-lived process)
_SAME_FIELDS: dict = {}


def _same_field(f):
    if f is None:
        return None
    if len(_SAME_FIELDS) > 10_000:
        _SAME_FIELDS.clear()
    return _SAME_FIELDS.setdefault(f, f)


def _runs(items: list, starts, ends) -> list[tuple]:
    """items[a:b] as a tuple for each (a, b) of starts and ends, sliced in C (a list
    comprehension was 2% of the columnar intake)."""
    return list(map(tuple, map(items.__getitem__, map(slice, starts.tolist(), ends.tolist()))))


def _last(codes, given, starts):
    """Per group (rows from each of `starts` to the next): the code of its last row where
    `given`, else 0."""
    import numpy as np
    at = np.maximum.reduceat(np.where(given, np.arange(len(codes)), 0), starts)
    return np.where(np.logical_or.reduceat(given, starts), codes[at], 0)


def _concat(pieces: list[dict], names: tuple) -> dict | None:
    import numpy as np
    if not pieces:
        return None
    if len(pieces) == 1:                # (the usual partition: one values piece, one records piece)
        return {k: pieces[0][k] for k in names}
    return {k: np.concatenate([p[k] for p in pieces]) for k in names}
