"""Who is acting: a staff user, an API key, or the system (a management command).

Authentication records the actor of a request in a context variable, so that every log line and
every write that follows can name it without the request being passed around.
"""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


# How much of an actor's name the ledger and the orders keep (a user name is at most 150).
NAME_MAX_LENGTH = 150


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # "user", "api_key" or "system"
    name: str
    user_id: int | None = None
    api_key_id: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


current_actor: ContextVar[Actor | None] = ContextVar("current_actor", default=None)


def system_actor(name: str) -> Actor:
    """The actor of a management command or a migration."""
    return Actor(kind="system", name=name)


def user_actor(user: "AbstractBaseUser | AnonymousUser") -> Actor:
    """A staff user acting in the admin or the browsable API."""
    return Actor(kind="user", name=user.get_username(), user_id=user.pk)
