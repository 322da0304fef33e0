"""Rules on single values, shared by the models, the serializers and the admin forms."""

import re

from django.core.exceptions import ValidationError

# More units of one variant than any store holds: a typo, not stock.
MAX_QUANTITY = 1_000_000
# The largest id a 64-bit id column holds; a larger number cannot name a row.
MAX_ID = 2**63 - 1

SEASON_CODE_PATTERN = r"^(FW|SS)[0-9]{2}$"
SKU_PATTERN = r"^[A-Z0-9](?:[A-Z0-9-]{0,62}[A-Z0-9])?$"
# What a client may write for them: lower case too (normalize_code makes it upper case).
SEASON_CODE_INPUT_PATTERN = r"^(?:[Ff][Ww]|[Ss][Ss])[0-9]{2}$"
SKU_INPUT_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$"
# A price greater than 0 with at most two places, as the API writes it: 0.01 to 99999999.99.
PRICE_PATTERN = r"^(?:[1-9][0-9]{0,7}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))$"
GTIN_PATTERN = r"^(?:[0-9]{8}|[0-9]{12,14})$"
NOT_BLANK_PATTERN = r"\S"

_season_code = re.compile(SEASON_CODE_PATTERN)
_sku = re.compile(SKU_PATTERN)
_gtin = re.compile(GTIN_PATTERN)
_not_blank = re.compile(NOT_BLANK_PATTERN)


def normalize_code(value: str) -> str:
    """Season codes and SKUs are upper case; staff may type them in lower case."""
    return value.strip().upper()


def validate_season_code(value: str) -> None:
    if not _season_code.match(value):
        raise ValidationError(
            "Enter a season code: FW or SS followed by two digits, e.g. FW24 or SS25.",
            code="invalid_season_code",
        )


def validate_sku(value: str) -> None:
    if not _sku.match(value):
        raise ValidationError(
            "A SKU is 1 to 64 upper-case letters, digits and inner hyphens, e.g. TEE-FW24-001-LXL.",
            code="invalid_sku",
        )


def validate_not_blank(value: str) -> None:
    if not _not_blank.search(value):
        raise ValidationError("This field may not be blank.", code="blank")


def gtin_check_digit(digits: str) -> int:
    """The GS1 check digit of a GTIN's digits without their last one."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def validate_gtin(value: str) -> None:
    """EAN-13 and the other GTINs (8, 12 and 14 digits), with a valid GS1 check digit."""
    if not _gtin.match(value):
        raise ValidationError(
            "A barcode is a GTIN of 8, 12, 13 or 14 digits (EAN-13 for most labels).",
            code="invalid_barcode",
        )
    if gtin_check_digit(value[:-1]) != int(value[-1]):
        raise ValidationError(
            "This barcode's check digit is wrong; check for a mistyped digit.",
            code="invalid_barcode_check_digit",
        )
