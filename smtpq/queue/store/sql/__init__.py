"""The store behind SQLAlchemy (SQLite and PostgreSQL): queries, schema, migrations, maintenance."""
