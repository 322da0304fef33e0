from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, Value
from django.db.models.functions import Cast, Coalesce, Length, LPad, Mod, Now, Substr
from django.db.models.lookups import Exact, GreaterThan, LessThanOrEqual
from django.utils import timezone

from catalog.fields import CodeField
from catalog.validators import (
    GTIN_PATTERN,
    MAX_QUANTITY,
    NOT_BLANK_PATTERN,
    SEASON_CODE_PATTERN,
    SKU_PATTERN,
    validate_gtin,
    validate_not_blank,
    validate_season_code,
    validate_sku,
)


def _gtin_check_digit_is_valid() -> models.Q:
    """The GS1 check digit rule as a database condition. Padded to 14 digits, the digits weigh
    3, 1, 3, ... from the left (leading zeros weigh nothing), and with the check digit the
    sum is a multiple of 10."""
    padded = LPad("barcode", 14, Value("0"))
    digits = [Cast(Substr(padded, position, 1), models.IntegerField()) for position in range(1, 15)]
    weighted = sum(
        (digit * (3 if position % 2 else 1) for position, digit in enumerate(digits[:13], 1)),
        start=digits[13],
    )
    return models.Q(Exact(Mod(weighted, 10), 0))


class Category(models.TextChoices):
    TEES = "Tees", "Tees"
    SWEATERS = "Sweaters", "Sweaters"
    PANTS = "Pants", "Pants"


class Size(models.TextChoices):
    S_M = "S-M", "S-M"
    L_XL = "L-XL", "L-XL"
    ONE_SIZE = "One Size", "One Size"


class ProductQuerySet(models.QuerySet["Product"]):
    def active(self) -> "ProductQuerySet":
        return self.filter(is_active=True)

    def with_variant(
        self,
        *,
        size: str | None = None,
        in_stock: bool | None = None,
        location_id: int | None = None,
    ) -> "ProductQuerySet":
        """Products by the state of one variant. With both a size and ``in_stock``, the
        conditions hold for the same variant: "L-XL in stock" means the L-XL is in stock, not
        that some size is. ``in_stock=False`` without a size means sold out in every size.
        With ``location_id``, in stock means in stock there (``VariantQuerySet.with_stock``)."""
        variants = Variant.objects.filter(product=OuterRef("pk"))
        if size is not None:
            variants = variants.filter(size=size)
        if in_stock is None:
            return self.filter(Exists(variants))
        variants = variants.with_stock(location_id)
        if in_stock or size is not None:
            return self.filter(Exists(variants.filter(Q(stock_in_stock=in_stock))))
        return self.exclude(Exists(variants.filter(Q(stock_in_stock=True))))


class Product(models.Model):
    category = models.CharField(max_length=16, choices=Category.choices)
    name = models.CharField(max_length=200, validators=[validate_not_blank])
    color = models.CharField(max_length=50, validators=[validate_not_blank])
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="In the store's currency (STORE_CURRENCY).",
    )
    collection = CodeField(
        max_length=4,
        validators=[validate_season_code],
        help_text="Season code: FW or SS and two digits, e.g. FW24.",
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Archived products are kept but hidden from clients."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["category", "collection"]),
            models.Index(fields=["-created_at", "-id"], name="catalog_product_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="catalog_product_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(name__regex=NOT_BLANK_PATTERN), name="catalog_product_name_not_blank"
            ),
            models.CheckConstraint(
                condition=Q(color__regex=NOT_BLANK_PATTERN), name="catalog_product_color_not_blank"
            ),
            # SQLite does not enforce the length of a varchar; these do, on both databases.
            models.CheckConstraint(
                condition=Q(LessThanOrEqual(Length("name"), 200)),
                name="catalog_product_name_length",
            ),
            models.CheckConstraint(
                condition=Q(LessThanOrEqual(Length("color"), 50)),
                name="catalog_product_color_length",
            ),
            models.CheckConstraint(
                condition=Q(price__gt=Decimal("0")), name="catalog_product_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(collection__regex=SEASON_CODE_PATTERN),
                name="catalog_product_collection_season_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.color}, {self.collection})"


class VariantQuerySet(models.QuerySet["Variant"]):
    def of_active_products(self) -> "VariantQuerySet":
        return self.filter(product__is_active=True)

    def with_stock(self, location_id: int | None = None) -> "VariantQuerySet":
        """Each variant's stock as the catalog's reads show it and filter it, annotated as
        ``stock_quantity`` (available to sell), ``stock_committed``, ``stock_in_stock`` and
        ``stock_low_stock``: its totals over every location (its own columns), or with
        ``location_id`` its level at that location, where a variant with no level has nothing
        (all 0: out of stock, and low by its own threshold). Low at a location is by the
        level's own threshold where it has one (``StockLevel.low_stock_threshold``).

        One name for either, so that the filters, the ordering and the answers read the same
        annotation wherever the stock is counted. The level is one LEFT JOIN through the
        variant's reverse relation, read by name (the catalog does not import stock): a read
        at a location costs no query more, however many locations there are."""
        if location_id is None:
            return self.annotate(
                stock_quantity=F("quantity"),
                stock_committed=F("committed"),
                stock_in_stock=F("in_stock"),
                stock_low_stock=F("low_stock"),
            )
        here = FilteredRelation("stock_levels", condition=Q(stock_levels__location_id=location_id))
        return self.annotate(stock_here=here).annotate(
            stock_quantity=Coalesce(F("stock_here__on_hand") - F("stock_here__committed"), 0),
            stock_committed=Coalesce(F("stock_here__committed"), 0),
            stock_in_stock=GreaterThan(F("stock_quantity"), 0),
            # The level's own threshold where it has one, else the variant's.
            stock_low_stock=LessThanOrEqual(
                F("stock_quantity"),
                Coalesce(F("stock_here__low_stock_threshold"), F("low_stock_threshold")),
            ),
        )


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    size = models.CharField(max_length=16, choices=Size.choices)
    sku = CodeField(
        "SKU",
        max_length=64,
        unique=True,
        validators=[validate_sku],
        help_text="Generated when left empty. Never changes and is never used again.",
    )
    barcode = models.CharField(
        max_length=14,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_gtin],
        help_text="EAN-13 or another GTIN, for scanning at the till.",
    )
    # The sums of the variant's stock levels over every location (an archived location holds
    # none), kept by the stock service with each change: the catalog's reads and filters use
    # them without a join. ``reconcile_stock`` proves them against the levels.
    quantity = models.IntegerField(
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_QUANTITY)],
        help_text="Units available to sell (on hand, less those committed to open orders), "
        "over every location. Changed only through stock movements.",
    )
    committed = models.IntegerField(
        default=0,
        editable=False,
        help_text="Units committed to open orders and not picked yet, over every location.",
    )
    low_stock_threshold = models.IntegerField(
        default=2,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_QUANTITY)],
        help_text="At or below this quantity the variant counts as low on stock.",
    )
    # Derived in the database from the quantity, so they can never disagree with it.
    in_stock = models.GeneratedField(
        expression=Q(quantity__gt=0),  # type: ignore[arg-type]  # a Q is a boolean expression
        output_field=models.BooleanField(),
        db_persist=True,
    )
    low_stock = models.GeneratedField(
        expression=Q(quantity__lte=models.F("low_stock_threshold")),  # type: ignore[arg-type]
        output_field=models.BooleanField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    objects = VariantQuerySet.as_manager()

    class Meta:
        ordering = ["product_id", "id"]
        permissions = [("change_stock", "Can adjust and count stock")]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "size"], name="catalog_variant_one_per_size"
            ),
            models.CheckConstraint(
                condition=Q(size__in=Size.values), name="catalog_variant_size_valid"
            ),
            models.CheckConstraint(
                condition=Q(sku__regex=SKU_PATTERN), name="catalog_variant_sku_format"
            ),
            models.CheckConstraint(
                condition=Q(barcode__isnull=True) | Q(barcode__regex=GTIN_PATTERN),
                name="catalog_variant_barcode_format",
            ),
            models.CheckConstraint(
                condition=Q(barcode__isnull=True) | _gtin_check_digit_is_valid(),
                name="catalog_variant_barcode_check_digit",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="catalog_variant_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(committed__gte=0), name="catalog_variant_committed_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(low_stock_threshold__gte=0),
                name="catalog_variant_low_stock_threshold_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.size})"


class IssuedSku(models.Model):
    """Every SKU ever given to a variant. Rows are never deleted, so a SKU is never used twice,
    even after its variant is gone: old receipts, labels and reports keep meaning one thing."""

    sku = models.CharField("SKU", max_length=64, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True, db_default=Now())

    class Meta:
        verbose_name = "issued SKU"

    def __str__(self) -> str:
        return self.sku


class ImportBatchStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed, not applied"
    INVALID = "invalid", "Has errors"
    APPLIED = "applied", "Applied"


class ImportBatch(models.Model):
    """A previewed CSV import (see ``stock.imports``, which owns the import above the
    catalog): the file's parsed rows, what applying them will do, and every row's errors. Kept
    in the database, not in a local file, so that whichever instance serves the "Apply" request
    finds it; applied at most once (the status moves from ``previewed`` to ``applied`` in a
    guarded update).

    The same content (``content_hash``) is applied once, unless staff confirm that it is meant
    again (``reimport``): the database holds that rule, so two concurrent applies of one delivery
    note cannot both be the first."""

    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=ImportBatchStatus.choices, default=ImportBatchStatus.PREVIEWED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="import_batches",
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_actor = models.CharField(
        max_length=150,
        blank=True,
        help_text="Who applied it, as its stock movements name them: a user, or a command.",
    )
    content_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the file's content as the import reads it (see catalog.imports).",
    )
    reimport = models.BooleanField(
        default=False,
        help_text="Applied although the same content had been applied before, as confirmed.",
    )
    row_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, help_text="What the import does, counted.")
    rows = models.JSONField(default=list, help_text="The file's rows, parsed and normalised.")
    plan = models.JSONField(default=list, help_text="What each row does, as the preview shows.")
    errors = models.JSONField(default=list, help_text="Every error: row, column and message.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [
            # "Was this file applied before?", asked by every preview and apply.
            models.Index(
                fields=["content_hash"],
                condition=Q(status=ImportBatchStatus.APPLIED),
                name="catalog_import_hash_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["content_hash"],
                condition=Q(status=ImportBatchStatus.APPLIED, reimport=False) & ~Q(content_hash=""),
                name="catalog_importbatch_content_applied_once",
            ),
            models.CheckConstraint(
                condition=Q(reimport=False) | Q(status=ImportBatchStatus.APPLIED),
                name="catalog_importbatch_reimport_is_applied",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ImportBatchStatus.values),
                name="catalog_importbatch_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status=ImportBatchStatus.APPLIED, applied_at__isnull=False)
                | (~Q(status=ImportBatchStatus.APPLIED) & Q(applied_at__isnull=True)),
                name="catalog_importbatch_applied_at_iff_applied",
            ),
            models.CheckConstraint(
                condition=~Q(status=ImportBatchStatus.PREVIEWED) | Q(error_count=0),
                name="catalog_importbatch_previewed_has_no_errors",
            ),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.filename or 'CSV'}, {self.get_status_display()})"
