"""The shared kernel: what every app builds on and which imports no app of its own.

``core.api`` is the API's plumbing (keys, authentication, errors, idempotency, throttling,
the schema) under the app label ``api``; ``actors``, ``exceptions`` and ``versions`` are the
domain-free pieces the apps share; ``server`` and ``db`` adapt gunicorn and PostgreSQL.
"""
