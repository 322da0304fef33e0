"""Options that apps above the kernel add to ``create_api_key``.

The kernel knows no app above it (the layers contract), yet a key may be bound to things those
apps own (the stock app binds keys to locations: ``--location``). Such an app registers a
``KeyOption`` in its ``AppConfig.ready()``; the command adds its arguments and applies it to
the new key in the key's own transaction, so a refused option leaves no key behind.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.management.base import CommandParser

from core.api.models import ApiKey


@dataclass(frozen=True, slots=True)
class KeyOption:
    name: str
    add_arguments: Callable[[CommandParser], None]
    # Raises django.core.exceptions.ValidationError for values it refuses.
    apply: Callable[[ApiKey, Mapping[str, Any]], str | None]


_registered: dict[str, KeyOption] = {}


def register(option: KeyOption) -> None:
    _registered[option.name] = option


def registered() -> tuple[KeyOption, ...]:
    return tuple(_registered.values())
