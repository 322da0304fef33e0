"""Selling under real concurrency: PostgreSQL, threads released together by a barrier, and real
HTTP through gunicorn.

Whatever the interleaving: no variant is oversold, an order takes all of its stock or none and
concurrent orders never deadlock, a cancelled order is restocked once, a retried request places
one order, returns never exceed what was sold, and after every test each variant's quantity is
the sum of its movements (``reconcile_stock``, checked when each test ends).
"""
