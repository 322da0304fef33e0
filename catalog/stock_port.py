"""The catalog's port to the stock app: a location named by its code, and the opening stock of
new variants.

The catalog shows stock at one location (``?location=CODE`` on its reads) and creates variants
with an opening quantity on hand at a location, but locations, levels and the ledger belong to
the stock app, which sits above the catalog and imports it: the catalog importing stock back
would be an arrow against the layers (``make layers``). So the catalog says here what it needs,
a resolver from a code to a location and an opener of new variants' stock, and the stock app
registers its own when Django has loaded it (``stock/apps.py``, ``stock/catalog_port.py``): the
dependency points from stock to catalog, like every other one. The levels themselves the
catalog reads through the variant's reverse relation (``stock_levels``), by name, as it reads
the ledger's.
"""

from collections.abc import Sequence
from typing import Protocol, cast

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from catalog.models import Variant
from core.actors import Actor


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


class StockOpener(Protocol):
    def __call__(
        self, variants: Sequence[Variant], *, actor: Actor, location: Location | None
    ) -> None:
        """The opening stock of each variant just created with a quantity (its total, set by
        the caller): its units on hand at ``location`` (one the resolver found; the default
        one for ``None``) and its ``initial`` movement by ``actor``, in the caller's
        transaction. Variants created without a quantity get nothing."""
        ...


_resolver: LocationResolver | None = None
_opener: StockOpener | None = None


def register(*, resolver: LocationResolver, opener: StockOpener) -> None:
    """Called once, by the app that owns locations and stock, when it is ready."""
    global _resolver, _opener  # one per process, set at start-up like Django's app registry
    _resolver, _opener = resolver, opener


def location_for_stock(code: str | None) -> Location:
    """The location ``code`` names, as the registered resolver finds it (see the module)."""
    if _resolver is None:
        raise ImproperlyConfigured(
            "No location resolver: the stock app registers one when ready (stock/apps.py)."
        )
    return _resolver(code)


def stock_open(variants: Sequence[Variant], *, actor: Actor, location: Location | None) -> None:
    """Open the stock of new variants, as the registered opener does (see the module)."""
    if _opener is None:
        raise ImproperlyConfigured(
            "No stock opener: the stock app registers one when ready (stock/apps.py)."
        )
    _opener(variants, actor=actor, location=location)


def level_model() -> type[Model]:
    """The stock app's level model (one variant at one location), reached through the
    variant's reverse relation ``stock_levels`` by name."""
    return cast(type[Model], Variant._meta.get_field("stock_levels").related_model)


def location_model() -> type[Model]:
    """The stock app's location model, reached through the level's ``location``."""
    return cast(type[Model], level_model()._meta.get_field("location").related_model)
