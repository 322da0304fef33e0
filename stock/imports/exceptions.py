"""Why an import is not applied: the errors the admin and the command show as such."""

from collections.abc import Sequence

from catalog.models import ImportBatch
from core.exceptions import ApplicationError
from stock.imports.report import applied_before


class ImportRefused(ApplicationError):
    """The import cannot be applied (already applied, has errors, or the catalog changed since
    the preview). Nothing was changed; ``details`` says why, row by row where it can."""

    code = "import_refused"
    status_code = 409
    default_message = "The import was not applied; nothing was changed."


class ImportAppliedBefore(ImportRefused):
    """A file with the same content (see ``content_hash``) was applied before; applying it again
    takes an explicit ``allow_reimport``. ``details["imports"]`` are the earlier imports' ids."""

    code = "import_applied_before"

    def __init__(self, earlier: Sequence[ImportBatch]) -> None:
        super().__init__(
            f"This file was applied already: {applied_before(earlier)}. Nothing was changed. "
            "Applying it again receives its deliveries a second time; confirm it only if they "
            "really arrived twice.",
            details={"imports": [batch.pk for batch in earlier]},
        )
