"""The catalog's version: a number that changes, on commit, with every write to what it shows.

Client apps read the catalog far more often than it changes. A read answered with this version
in its ``ETag`` lets a client ask "has anything changed?" (``If-None-Match``) and get 304
without a query, and lets the API keep rendered answers in the shared cache for as long as the
version stands (see ``core.api.caching``).

One version for the whole catalog: a product list embeds every variant's stock, so a sale
anywhere changes some page. Coarse, but it cannot miss a change.

Every door bumps it: the model signals catch every ``save()`` and ``delete()`` of a product or
a variant (the services, the admin); the writes that bypass them (the stock service's single
UPDATE, the CSV import's bulk statements) call ``catalog_changed`` themselves, and so does
``migrate``. A change made outside the application (SQL by hand) needs
``manage.py catalog_changed``.

The version lives in the shared cache (see ``core.versions``).
"""

from core.versions import Version

VERSION_KEY = "catalog:version"

_version = Version(VERSION_KEY, name="catalog version")

current = _version.current
# Record that the current transaction changes what the catalog shows (bumped on commit).
catalog_changed = _version.changed
_bump = _version.bump
