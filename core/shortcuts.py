"""Switches for the speed-ups that go through private parts of our libraries.

Each is listed, with what it touches and what it was measured to earn, in
``docs/private-internals.md``, under its name here. All are on; ``SHORTCUTS_OFF`` (a setting from
the environment, names separated by commas) turns some off, so that the benchmark can measure one
against the plain path in the same run (``make bench BENCH_ARGS="--compare NAME"``).
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NAMES = frozenset(
    {
        "catalog-rows",
        "native-loaders",
        "catalog-sql",
        "sku-lookup",
        "catalog-render",
        "key-cache",
        "filterset",
    }
)


def on(name: str) -> bool:
    """Whether the shortcut ``name`` is on (it is unless ``SHORTCUTS_OFF`` names it)."""
    return name not in settings.SHORTCUTS_OFF


def check_names(names: frozenset[str]) -> frozenset[str]:
    """``names`` if each is a shortcut's: a misspelt name would measure nothing."""
    unknown = sorted(names - NAMES)
    if unknown:
        raise ImproperlyConfigured(
            f"SHORTCUTS_OFF names no shortcut: {', '.join(unknown)}. Known: {', '.join(sorted(NAMES))}."
        )
    return names
