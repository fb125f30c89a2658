"""The persistent queue: what enqueue, the flush worker and the management commands share.

Packages by program: ``enqueue`` (the per-mail path, stdlib only), ``store``
(the interface, the row shapes and the files the per-mail path reads; ``store.sql``:
the SQLAlchemy implementation, schema, migrations and maintenance), ``flush``
(the flush worker), ``notices`` (bounces and warnings the flusher sends) and
``control`` (what the management commands do to the queue).  At this level: the
vocabulary all of them use (``states``, ``records``, ``errors``, ``settings``).

This package imports nothing itself, so importing one per-mail module never
drags in SQLAlchemy (``tests/support/per_mail.py`` lists exactly what each
per-mail path loads).
"""
