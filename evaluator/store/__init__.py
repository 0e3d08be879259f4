"""The round store: a round's life in a database (SQLite by default, PostgreSQL by URL).

    db        where the store is (--db / AGRADE_DB), engines, migrations, transactions
    tables    the tables (SQLAlchemy Core); migrations/ builds them (Alembic)
    audit     the hash-chained, append-only audit log every change writes to
    codec     evidence values as typed, kept exactly (dates, decimals, records)
    registry  organizations, streets and districts over time; standards by digest
    rounds    rounds and their lifecycle, import from and export to a round folder
    evidence  submissions (append-only versions), attachments, the kept evidence digest
    submit    one field submitted through the store, checked like a file's cell
    scoring   evaluating a stored round, storing outcomes, re-scoring (LiveRound)
    inspection teams, inspectors, conflicts of interest, spot-check samples, discrepancies
    appeals   filing and deciding; reissue: the scorecard re-issued stamped 复核
    waivers   justification, approver, expiry with its time zone
    publish   published lists (corrections supersede) and bulletins
    history, status, demo   what `agrade history`, `round status` and `agrade demo` tell

Invariant 6 (history is append-only) holds here: submissions, evaluations, decisions and audit
entries are added, never overwritten; a finalized round refuses every change but an appeal.
"""
