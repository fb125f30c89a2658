"""The persistent queue: settings, store, enqueue, retry policy (the flush worker comes next).

Hot path, stdlib only (the sendmail entry imports these for every mail; exactly
which, ``tests/support/per_mail.py`` lists): ``settings``, ``new_message``,
``enqueue`` (``modes``, ``submit``, ``sqlite`` or ``postgres``), ``store.rows``,
``store.sqlite_file``.

SQLAlchemy side (flush and management commands): ``store`` (the interface),
``sql_store``/``sql_reads`` (its implementation), ``models``, ``engine``,
``migrate`` (Alembic; revisions in ``smtpq/migrations``), ``records``.

Pure policy: ``policy`` (outcome classification, back-off, expiry).

This package imports nothing itself, so importing one hot-path module never
drags in SQLAlchemy.
"""
