from typing import Any, ClassVar, cast

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from rest_framework.request import Request

from catalog.models import Category, Product, ProductQuerySet, Size, Variant
from catalog.validators import MAX_ID, normalize_code
from core.api.filters import (
    ChoiceFilter,
    FilterBackend,
    FilterSet,
    MultipleChoiceFilter,
    OrderingFilter,
)

# Moved to core (the events' filters use it too); the stock's and orders' import it from here.
from core.api.filters import IsoDateTimeFilter as IsoDateTimeFilter


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error rather than silently no filter."""

    widget = forms.TextInput  # the default select widget turns unknown values into "no filter"

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # None: no filter
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")

    def validate(self, value: Any) -> None:
        pass


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number in the range of the id column, or a validation error."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


# Text filters are no longer than the columns they match (a search, than a product's name): a
# longer value matches nothing, and a pattern of 100,000 characters makes SQLite give up.
SEARCH_MAX_LENGTH = 200

ACTIVE_CHOICES = [("true", "Active only"), ("false", "Archived only"), ("all", "Both")]


LOCATION_HELP = (
    "A location's code (e.g. STORE-01): each variant's quantity, on_hand, committed, in_stock "
    "and low_stock are those at that location (all 0 where it has none), and so are the stock "
    "filters. Without it, totals over every location. An unknown or archived location is a "
    "validation error."
)


class CatalogFilterSet(FilterSet):
    """Archived products (and their variants) are hidden unless ``active`` asks for them, and
    every list has a stable order even when ``ordering`` is not given.

    ``location`` is resolved by the view, before the filters (a detail reads at a location too,
    and the answer's stock follows it), and handed here as ``location_id`` by
    ``CatalogFilterBackend``: the stock filters read the stock at that location."""

    active_field: ClassVar[str]
    default_ordering: ClassVar[tuple[str, ...]]

    active = ChoiceFilter(
        choices=ACTIVE_CHOICES,
        method="filter_active",
        empty_label=None,
        help_text="Archived products are hidden unless asked for (default: true).",
    )
    location = django_filters.CharFilter(method="filter_location", help_text=LOCATION_HELP)

    def __init__(self, *args: Any, location_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.location_id = location_id

    def filter_location(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        # Not a filter of its own: it changes what the stock filters (and the answer) count.
        return queryset

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.form.cleaned_data.get("active"):
            queryset = self.filter_active(queryset, "active", "true")
        # Every valid filter runs, those not asked for too: ordering's then sorts by its default.
        if "ordering" not in self.form.cleaned_data:
            queryset = self.filters["ordering"].filter(queryset, None)
        return cast(QuerySet[Any], super().filter_queryset(queryset))

    def filter_active(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "all":
            return queryset
        return queryset.filter(**{self.active_field: value != "false"})


class ProductFilter(CatalogFilterSet):
    category = MultipleChoiceFilter(choices=Category.choices)
    collection = django_filters.CharFilter(
        method="filter_collection", max_length=4, help_text="e.g. FW24"
    )
    color = django_filters.CharFilter(lookup_expr="iexact", max_length=50)
    size = ChoiceFilter(
        choices=Size.choices,
        method="filter_variant",
        help_text="Products having a variant of this size; with in_stock, that variant's stock.",
    )
    in_stock = BooleanFilter(
        method="filter_variant",
        help_text="true: some variant (or the variant of `size`) is in stock; false: none is. "
        "With `location`, in stock there.",
    )
    price_min = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    search = django_filters.CharFilter(
        method="filter_search", max_length=SEARCH_MAX_LENGTH, help_text="Name, color or SKU."
    )
    ordering = OrderingFilter(
        fields=(("price", "price"), ("name", "name"), ("created_at", "created")),
        help_text="price, name or created; prefix with - for descending (default: -created).",
    )

    active_field = "is_active"
    default_ordering = ("-created_at",)

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_collection(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(collection=normalize_code(value))

    def filter_variant(self, queryset: ProductQuerySet, name: str, value: Any) -> QuerySet[Any]:
        # size and in_stock describe one variant together: apply them once, jointly.
        if name == "in_stock" and self.form.cleaned_data.get("size"):
            return queryset
        size = self.form.cleaned_data.get("size") or None
        in_stock = self.form.cleaned_data.get("in_stock")
        return queryset.with_variant(size=size, in_stock=in_stock, location_id=self.location_id)

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        sku_match = Variant.objects.filter(product=OuterRef("pk"), sku__icontains=value)
        return queryset.filter(
            Q(name__icontains=value) | Q(color__icontains=value) | Q(Exists(sku_match))
        )


class VariantFilter(CatalogFilterSet):
    product = IdFilter(field_name="product_id")
    sku = django_filters.CharFilter(
        method="filter_sku", max_length=64, help_text="Exact SKU, any case."
    )
    barcode = django_filters.CharFilter(max_length=14)
    size = ChoiceFilter(choices=Size.choices)
    # The stock as the view's queryset counts it (VariantQuerySet.with_stock): over every
    # location, or at ``location``.
    in_stock = BooleanFilter(field_name="stock_in_stock")
    low_stock = BooleanFilter(field_name="stock_low_stock")
    search = django_filters.CharFilter(
        method="filter_search", max_length=SEARCH_MAX_LENGTH, help_text="SKU or product name."
    )
    ordering = OrderingFilter(
        fields=(("sku", "sku"), ("stock_quantity", "quantity"), ("created_at", "created")),
        help_text="sku, quantity or created; prefix with - for descending (default: id).",
    )

    active_field = "product__is_active"
    default_ordering = ("id",)

    class Meta:
        model = Variant
        fields: list[str] = []

    def filter_sku(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(sku=normalize_code(value))

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(product__name__icontains=value))


class CatalogFilterBackend(FilterBackend):
    """The API's filter backend, handing the catalog's filters the location the view resolved
    (``location_id``, None for totals over every location)."""

    def get_filterset_kwargs(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_filterset_kwargs(request, queryset, view)
        return {**kwargs, "location_id": view.location_id}
