"""The catalog's port to the stock's locations: a location named by its code.

The catalog shows stock at one location (``?location=CODE`` on its reads) and opens a new
variant's stock at a location named by code, but locations belong to the stock app, which sits
above the catalog and imports it: the catalog importing stock back would be an arrow against the
layers (``make layers``). So the catalog says here what it needs, a resolver from a code to a
location, and the stock app registers its own (``stock.selectors.location_for_stock``) when
Django has loaded it (``stock/apps.py``): the dependency points from stock to catalog, like every
other one. The levels themselves the catalog reads through the variant's reverse relation
(``stock_levels``), by name, as it reads the ledger's.
"""

from typing import Protocol, cast

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from catalog.models import Variant


class Location(Protocol):
    """What the catalog reads of a location; the stock app's ``Location`` is one."""

    @property
    def pk(self) -> int: ...

    @property
    def code(self) -> str: ...


class LocationResolver(Protocol):
    def __call__(self, code: str | None) -> Location:
        """The active location with ``code`` (in any case), or the default one for ``None``;
        a code naming no location, or an archived one, is a ``ValidationError`` on
        ``location``."""
        ...


_resolver: LocationResolver | None = None


def register(resolver: LocationResolver) -> None:
    """Called once, by the app that owns locations, when it is ready."""
    global _resolver  # one per process, set at start-up like Django's app registry
    _resolver = resolver


def location_for_stock(code: str | None) -> Location:
    """The location ``code`` names, as the registered resolver finds it (see the module)."""
    if _resolver is None:
        raise ImproperlyConfigured(
            "No location resolver: the stock app registers one when ready (stock/apps.py)."
        )
    return _resolver(code)


def level_model() -> type[Model]:
    """The stock app's level model (one variant at one location), reached through the
    variant's reverse relation ``stock_levels`` by name."""
    return cast(type[Model], Variant._meta.get_field("stock_levels").related_model)


def location_model() -> type[Model]:
    """The stock app's location model, reached through the level's ``location``."""
    return cast(type[Model], level_model()._meta.get_field("location").related_model)
