"""An organization's evidence as it stood on a bulletin's as-of date.

A bulletin (evaluator.scoring.bulletin) scores the round as of a date inside its period. The
criteria already leave out records dated after it (criteria.due_records, with a note in every
reason). Two more things must not leak in from after the date:

- a verification recorded after it: on the as-of date the inspectors had not yet checked the
  field, so the organization's own figure is what counted (or nothing, when it gave none). The
  verified value, and the self/verified mismatch it made, are set aside, and every reason
  reading the field says why (核查日期晚于通报截止日);
- records the gates would read (grading's gate conditions see the values, not the criteria's
  reasons): they get the same cut values the criteria count.

Outside a bulletin (the period is not cut) the evidence is returned unchanged, so an ordinary
evaluation is untouched.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from ..model import Evidence
from ..standard.periods import as_of as period_as_of
from ..terms import date_text
from .criteria import due_records


def evidence_as_of(ev: Evidence, period) -> Evidence:
    """`ev` without the verifications dated after the as-of date (the self-reported value in
    their place, with a note); `ev` itself when nothing changes."""
    cut = period_as_of(period)
    if cut is None:
        return ev
    late = {fid: p for fid, p in ev.provenance.items() if _after(p, cut)}
    if not late:
        return ev
    values, provenance, notes = dict(ev.values), dict(ev.provenance), dict(ev.notes)
    for fid, p in late.items():
        own = ev.self_values.get(fid)
        if own is None:
            values.pop(fid, None)
        else:
            values[fid] = own
        # what the verification was stays visible (who, when), beside what was used instead
        kept = {k: v for k, v in p.items() if k not in ("source", "inspector", "verified_on")}
        provenance[fid] = {**({"source": "self"} if own is not None else {}), **kept,
                           "verified_after_as_of": {"inspector": p.get("inspector"), "verified_on": p["verified_on"]}}
        # the verification's own notes (a blank verified cell) no longer apply
        notes[fid] = (f"核查日期{date_text(p['verified_on'])}晚于通报截止日{date_text(cut)}，本期不采用核查值，"
                      + ("按自评值计" if own is not None else "按未提供处理"))
    findings = [f for f in ev.findings if f.field not in late]
    return dataclasses.replace(ev, values=values, provenance=provenance, notes=notes, findings=findings)


def gate_evidence(ev: Evidence, fields, period) -> Evidence:
    """The evidence gate conditions read: records dated after the as-of date taken out, as the
    criteria count them."""
    values, later = due_records(ev.values, fields, period)
    return dataclasses.replace(ev, values=values) if later else ev


def _after(provenance: dict, cut: dt.date) -> bool:
    on = provenance.get("verified_on") if provenance.get("source") == "verified" else None
    # intake writes verified_on as an ISO date; a verification without a date cannot be placed
    # in time and counts as it does in the round's own evaluation
    return bool(on) and dt.date.fromisoformat(on) > cut
