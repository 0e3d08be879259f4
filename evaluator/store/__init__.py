"""The round store: a round's life in a database (SQLite by default, PostgreSQL by URL).

    db        where the store is (--db / AGRADE_DB), engines, migrations, transactions
    tables    the tables (SQLAlchemy Core); migrations/ builds them (Alembic)
    audit     the hash-chained, append-only audit log every change writes to
    codec     evidence values as typed, kept exactly (dates, decimals, records)
    registry  organizations, streets and districts over time; standards by digest
    rounds    rounds and their lifecycle, import from and export to a round folder
    evidence  submissions (append-only versions) and the optimistic version check
    scoring   evaluating a stored round, storing outcomes, re-scoring one organization

Invariant 6 (history is append-only) holds here: submissions, evaluations, decisions and audit
entries are added, never overwritten; a finalized round refuses every change but an appeal.
"""
