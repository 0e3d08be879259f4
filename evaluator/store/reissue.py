"""Re-issuing an organization's scorecard after an appeal was decided: its current result,
stamped 复核 with the decision's number, date and reason, and what it stood at before."""
from __future__ import annotations

import datetime
import json
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select

from .appeals import get_appeal
from .base import Refused, Store
from .scoring import write_results
from .tables import evaluations

# decisions are dated where the department sits (the round's documents are dated in Beijing time)
BEIJING = datetime.timezone(datetime.timedelta(hours=8))


def review_stamp(conn, appeal_id: int) -> dict:
    from ..terms import date_text
    a = get_appeal(conn, appeal_id)
    if a["state"] != "amended":
        raise Refused(f"appeal {appeal_id}", f"第 {appeal_id} 号申诉未予更正，测评报告无需重新出具")
    changed = json.loads(conn.execute(select(evaluations.c.changed).where(evaluations.c.id == a["evaluation"])).scalar_one())
    mine = changed.get(a["organization"], {})
    from .scoring import placements_now
    from .submit import standard_of
    grading = standard_of(conn, a["round"], a["organization"]).grading
    if "tier" in mine:
        tier = mine["tier"][0]
    else:                                   # the tier did not move: it was what it is now
        tier = placements_now(conn, a["round"], [a["organization"]]).get(a["organization"], {}).get("tier")
    before = {"total": (mine.get("total") or [None])[0], "tier": grading.tier_name(tier) if tier else "不予定档"} if mine else None
    return {"no": appeal_id, "date": date_text(a["decided_at"].astimezone(BEIJING).date()), "reason": a["decision"],
            "before": before if before and (before["total"] or before["tier"]) else None}


def reissue(store: Store, appeal_id: int, out_dir: Path, formats=("pdf", "html")) -> list[Path]:
    from ..reports import render_reports
    with store.read() as conn:
        a = get_appeal(conn, appeal_id)
        stamp = review_stamp(conn, appeal_id)
        tmp = Path(tempfile.mkdtemp(prefix="agrade-reissue-"))
        try:
            write_results(conn, a["round"], tmp / "results")
            return render_reports(tmp / "results", out_dir, kinds=("scorecards",), formats=formats,
                                  only=[a["organization"]], reviews={a["organization"]: stamp}, workers=1)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
