"""The store's tables (SQLAlchemy Core). migrations/ creates them; tests check the two agree.

Append-only tables: submissions, evaluations, appeals (decisions are new rows' fields filled
once), bulletins, published_lists, audit. Mutable pointers, each change of which is audited:
heads (an evidence field's current version, the optimistic check), outcomes (an
organization's current result), rounds.state, units.valid_to (closing a version).
"""
from __future__ import annotations

import datetime

from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text, TypeDecorator, UniqueConstraint)

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
})


class UTC(TypeDecorator):
    """A moment in UTC. SQLite keeps no time zone: it stores UTC without one and this gives it
    back; a naive value is refused on the way in (a time without a zone is a bug here)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a time without a time zone: {value}")
        value = value.astimezone(datetime.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=datetime.timezone.utc) if value.tzinfo is None else value.astimezone(datetime.timezone.utc)


def _id(name="id"):
    return Column(name, Integer, primary_key=True, autoincrement=True)


units = Table(
    "units", metadata, _id(),
    Column("kind", String(20), nullable=False),            # organization | street | district
    Column("code", String(200), nullable=False),           # the organization's id; 'district/street'; the district
    Column("name", Text, nullable=False),
    Column("type", String(100), nullable=False, server_default=""),
    Column("district", Text, nullable=False, server_default=""),
    Column("street", Text, nullable=False, server_default=""),
    Column("parent", String(200), nullable=False, server_default=""),
    Column("responsible", Text, nullable=False, server_default=""),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),                              # exclusive; None: current
    Index(None, "kind", "code", "valid_to"),
)

standards = Table(
    "standards", metadata,
    Column("digest", String(80), primary_key=True),
    Column("standard", String(100), nullable=False),       # its id (community, village, ...)
    Column("version", String(50), nullable=False),
    Column("title", Text, nullable=False),
    Column("files", Text, nullable=False),                 # JSON [[file name, text], ...], root first
    Column("stored_at", UTC, nullable=False),
)

rounds = Table(
    "rounds", metadata,
    Column("id", String(100), primary_key=True),
    Column("title", Text, nullable=False),
    Column("issuer", Text, nullable=False, server_default=""),
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("state", String(20), nullable=False),           # rounds.LIFECYCLE
    Column("config", Text, nullable=False),                # round.yaml's settings as JSON (paths replaced)
    Column("previous", String(100), ForeignKey("rounds.id")),
    Column("created_at", UTC, nullable=False),
    Column("created_by", Text, nullable=False),
)

round_standards = Table(
    "round_standards", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("org_type", String(100), primary_key=True),
    Column("digest", String(80), ForeignKey("standards.digest"), nullable=False),
)

members = Table(
    "members", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("organization", String(200), primary_key=True),
    Column("seq", Integer, nullable=False),                # registry order
    Column("unit", Integer, ForeignKey("units.id"), nullable=False),
    Index(None, "round", "seq"),
)

submissions = Table(
    "submissions", metadata, _id(),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("organization", String(200), nullable=False),
    Column("field", String(100), nullable=False),
    Column("source", String(10), nullable=False),          # self | verified
    Column("version", Integer, nullable=False),
    Column("value", Text),                                 # codec JSON as typed; None: withdrawn
    Column("withdrawn", Boolean, nullable=False, server_default="0"),
    Column("inspector", Text),
    Column("ons", Text),                                   # codec JSON [[verified_on, where], ...]
    Column("location", Text, nullable=False),              # JSON where: {file, line, col, path[, rows]}
    Column("content", String(80), nullable=False),         # digest of what was submitted (not where)
    Column("submitted_by", Text, nullable=False),
    Column("submitted_at", UTC, nullable=False),
    Column("note", Text),
    UniqueConstraint("round", "organization", "field", "source", "version"),
)

heads = Table(
    "heads", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("organization", String(200), primary_key=True),
    Column("field", String(100), primary_key=True),
    Column("source", String(10), primary_key=True),
    Column("seq", Integer, nullable=False),                # the field's place in the organization's evidence
    Column("version", Integer, nullable=False),
    Column("submission", Integer, ForeignKey("submissions.id"), nullable=False),
)

attachments = Table(
    "attachments", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("stored_at", UTC, nullable=False),
)

submission_attachments = Table(                             # a submission's supporting files, by content hash
    "submission_attachments", metadata,
    Column("submission", Integer, ForeignKey("submissions.id"), primary_key=True),
    Column("sha256", String(64), ForeignKey("attachments.sha256"), primary_key=True),
)

evaluations = Table(
    "evaluations", metadata, _id(),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("kind", String(20), nullable=False),            # full | rescore | appeal
    Column("at", UTC, nullable=False),
    Column("actor", Text, nullable=False),
    Column("evidence_digest", String(80), nullable=False),
    Column("organizations", Integer, nullable=False),
    Column("changed", Text, nullable=False),               # JSON {id: {what: [before, after]}}
    Column("summary", Text, nullable=False),               # JSON: results.json's summary
)

round_evidence = Table(                                     # the current evidence's digest, kept as it changes
    "round_evidence", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("digest", String(80), nullable=False),          # evidence.py: a sum of the current fields' hashes
)

outcomes = Table(
    "outcomes", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("organization", String(200), primary_key=True),
    Column("state", Text, nullable=False),                 # JSON: evaluator.scoring.rescore.row_state
    Column("head", LargeBinary, nullable=False),           # its serialized result, before the round part
    Column("tail", LargeBinary, nullable=False),           # ... and after
    Column("evaluation", Integer, ForeignKey("evaluations.id"), nullable=False),
)

placements = Table(                                         # what each evaluation placed: tier, ranks, lists
    "placements", metadata,
    Column("evaluation", Integer, ForeignKey("evaluations.id"), primary_key=True),
    Column("organization", String(200), primary_key=True),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("total", String(30)),
    Column("tier", String(50)),
    Column("rank", Integer),
    Column("lists", Text, nullable=False),                 # JSON [list key, ...]
    Index(None, "organization"),
)

waivers = Table(
    "waivers", metadata, _id(),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("organization", String(200), nullable=False),
    Column("criterion", String(100), nullable=False),
    Column("justification", Text, nullable=False),
    Column("approver", Text, nullable=False),
    Column("expires_at", UTC, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", UTC, nullable=False),
)

appeals = Table(
    "appeals", metadata, _id(),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("organization", String(200), nullable=False),
    Column("criteria", Text, nullable=False),              # JSON [criterion id, ...]
    Column("reason", Text, nullable=False),
    Column("attachments", Text, nullable=False, server_default="[]"),   # JSON [sha256, ...]
    Column("filed_by", Text, nullable=False),
    Column("filed_at", UTC, nullable=False),
    Column("state", String(20), nullable=False),           # filed | upheld | amended
    Column("reviewer", Text),
    Column("decided_at", UTC),
    Column("decision", Text),
    Column("amendments", Text),                            # JSON [{field, source, value}, ...]
    Column("evaluation", Integer, ForeignKey("evaluations.id")),
)

bulletins = Table(
    "bulletins", metadata, _id(),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("issued_at", UTC, nullable=False),
    Column("issued_by", Text, nullable=False),
    Column("evaluation", Integer, ForeignKey("evaluations.id"), nullable=False),
)

published_lists = Table(
    "published_lists", metadata, _id(),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("issued_at", UTC, nullable=False),
    Column("issued_by", Text, nullable=False),
    Column("evaluation", Integer, ForeignKey("evaluations.id"), nullable=False),
    Column("supersedes", Integer, ForeignKey("published_lists.id")),
    Column("reason", Text, nullable=False, server_default=""),
    Column("lists", Text, nullable=False),                 # JSON: results.json's lists (and designations)
)

audit = Table(
    "audit", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTC, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(50), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("key", Text, nullable=False),
    Column("before", String(80)),                          # digest of the entity before, None if new
    Column("after", String(80)),                           # ... and after, None if removed
    Column("detail", Text, nullable=False),
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(                                         # one row: the last entry (detects a cut tail)
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)


# ---- inspection (evaluator/store/inspection.py)
# A round's inspection plan (loaded from its inspection YAML): the conflict-of-interest rules,
# the inspectors with the units they belong or belonged to, the teams and their members. The
# plan belongs to the round: reloading it replaces these rows (audited, before/after), and a
# finalized round refuses that. Assignments are mutable pointers (each move audited); samples
# and their lists are append-only (a new draw is a new sample, the last one is current).

from sqlalchemy import ForeignKeyConstraint  # noqa: E402  (kept with the tables that use it)

inspection_plans = Table(
    "inspection_plans", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("rules", Text, nullable=False),                 # JSON: the YAML's rules, defaults filled in
    Column("source", Text, nullable=False),                # the YAML file's name as given
    Column("digest", String(80), nullable=False),          # sha256 of the file's bytes
    Column("loaded_at", UTC, nullable=False),
    Column("loaded_by", Text, nullable=False),
)

inspectors = Table(
    "inspectors", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("id", String(200), primary_key=True),           # the name evidence files give (inspector)
    Column("name", Text, nullable=False),
    Column("aliases", Text, nullable=False, server_default="[]"),   # JSON: other spellings in evidence
)

inspector_units = Table(                                    # where an inspector works or worked
    "inspector_units", metadata, _id(),
    Column("round", String(100), nullable=False),
    Column("inspector", String(200), nullable=False),
    Column("kind", String(20), nullable=False),            # organization | street | district (as units.kind)
    Column("code", String(200), nullable=False),           # as units.code: the id; 'district/street'; the district
    Column("belonged_from", Date),                         # None: since before anyone recorded
    Column("belonged_to", Date),                           # the last day (inclusive); None: still there
    ForeignKeyConstraint(["round", "inspector"], ["inspectors.round", "inspectors.id"]),
    Index(None, "round", "inspector"),
)

inspection_teams = Table(
    "inspection_teams", metadata,
    Column("round", String(100), ForeignKey("rounds.id"), primary_key=True),
    Column("id", String(100), primary_key=True),
    Column("name", Text, nullable=False),
    Column("leader", String(200)),                         # an inspector's id
)

team_members = Table(
    "team_members", metadata,
    Column("round", String(100), primary_key=True),
    Column("team", String(100), primary_key=True),
    Column("inspector", String(200), primary_key=True),
    ForeignKeyConstraint(["round", "team"], ["inspection_teams.round", "inspection_teams.id"]),
    ForeignKeyConstraint(["round", "inspector"], ["inspectors.round", "inspectors.id"]),
)

assignments = Table(                                        # which team inspects an organization in a round
    "assignments", metadata,
    Column("round", String(100), primary_key=True),
    Column("organization", String(200), primary_key=True),
    Column("team", String(100), nullable=False),
    Column("assigned_at", UTC, nullable=False),
    Column("assigned_by", Text, nullable=False),
    ForeignKeyConstraint(["round", "team"], ["inspection_teams.round", "inspection_teams.id"]),
    Index(None, "round", "team"),
)

samples = Table(                                            # spot-check draws (抽查), append-only
    "samples", metadata, _id(),
    Column("round", String(100), ForeignKey("rounds.id"), nullable=False),
    Column("seed", String(40), nullable=False),            # the integer given to random.Random, as text
    Column("rate", String(30), nullable=False),            # a decimal, e.g. '0.1'
    Column("strata", Text, nullable=False),                # JSON ["district", "street", "type"]
    Column("rounding", Text, nullable=False),              # how each stratum's count was rounded (stated)
    Column("population", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("population_digest", String(80), nullable=False),   # the members and strata drawn from
    Column("drawn_at", UTC, nullable=False),
    Column("drawn_by", Text, nullable=False),
    Index(None, "round"),
)

sample_members = Table(
    "sample_members", metadata,
    Column("sample", Integer, ForeignKey("samples.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),              # the order of the list (stratum, then draw)
    Column("organization", String(200), nullable=False),
    Column("stratum", Text, nullable=False),               # JSON [value per stratum]
    Column("stratum_size", Integer, nullable=False),
    Column("stratum_drawn", Integer, nullable=False),
    UniqueConstraint("sample", "organization"),
)
