"""Application database: SQLAlchemy models, sessions, migrations, the audit log."""
