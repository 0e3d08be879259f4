"""A small round on disk for tests of grading, ranking and lists: the mini standard (or a text
derived from it), organizations in districts and streets, and each one's evidence as the mini
fixture's model organization with some values changed."""
from __future__ import annotations

from pathlib import Path

import yaml

from conftest import FIXTURES

MINI = (FIXTURES / "mini" / "mini.yaml").read_text(encoding="utf-8")
MODEL = {"members_full": 9, "centre_area": 520, "grid_staff": 10, "grid_staff_party": 6, "secretary_rating": "好",
         "unapproved_tasks": 0, "awards": 0, "serious_violation": "否"}
MONTHLY = [f"2026-{m:02d}-09" for m in range(1, 13)]


def make_round(folder: Path, orgs: list[tuple], standard: str = MINI, extra: str = "") -> Path:
    """orgs: (id, district, street, {field: value}) each; values replace the model organization's
    (committee_meetings: a list of dates). `extra`: more round.yaml text. Returns round.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    sid = yaml.safe_load(standard)["id"]
    (folder / f"{sid}.yaml").write_text(standard, encoding="utf-8")
    lines = ["id,name,type,district,street"] + [f"{oid},{oid}党支部,community,{d},{s}" for oid, d, s, _ in orgs]
    (folder / "orgs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "evidence").mkdir(exist_ok=True)
    for oid, _, _, values in orgs:
        values = dict(values)
        records = {"committee_meetings": values.pop("committee_meetings", MONTHLY)}
        doc = {"organization": oid, "values": {**MODEL, **values}, "records": records}
        (folder / "evidence" / f"{oid}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    (folder / "round.yaml").write_text(
        f"id: t-2026\ntitle: 测试区2026年度考评\nissuer: 测试区委组织部\nperiod: {{from: 2026-01-01, to: 2026-12-31}}\n"
        f"standards: {{community: {sid}.yaml}}\norganizations: orgs.csv\nevidence: evidence/\n{extra}", encoding="utf-8")
    return folder / "round.yaml"
