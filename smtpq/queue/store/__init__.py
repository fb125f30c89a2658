"""The queue's store: its interface, the row shapes and the files the hot path reads (no SQLAlchemy)."""
