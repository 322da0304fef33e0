from typing import Any

from django.db import models

from catalog.validators import normalize_code


class CodeField(models.CharField):  # type: ignore[type-arg]
    """A code (season, SKU) kept trimmed and upper case, however staff typed it.

    ``full_clean()`` stores what ``to_python`` returns, so the admin, the services and the API all
    save the normalised value.
    """

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return normalize_code(value) if isinstance(value, str) else value
