"""The stock's side of the catalog's port (``catalog/stock_port.py``): what the catalog asks of
locations and stock, answered here and registered when the app is ready (``stock/apps.py``)."""

from collections.abc import Sequence

from catalog import stock_port
from catalog.models import Variant
from core.actors import Actor
from stock.models import Location
from stock.selectors import location_for_stock
from stock.services import stock_open


def open_stock(
    variants: Sequence[Variant], *, actor: Actor, location: stock_port.Location | None
) -> None:
    """The catalog's new variants' opening stock, by the stock service (``stock_open``). The
    location is one this app's resolver gave the catalog, so one of its own."""
    if location is not None and not isinstance(location, Location):
        raise TypeError(f"Not a stock location: {location!r}; resolve it by code first.")
    stock_open(variants, actor=actor, location=location)


def register() -> None:
    stock_port.register(resolver=location_for_stock, opener=open_stock)
