import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from catalog import selectors, services, stock_port, versions
from catalog.api import filters, representations
from catalog.api.filters import ProductFilter, VariantFilter
from catalog.api.serializers import (
    ProductCreateSerializer,
    ProductOutputSerializer,
    ProductUpdateSerializer,
    VariantCreateSerializer,
    VariantDetailOutputSerializer,
    VariantOutputSerializer,
    VariantUpdateSerializer,
)
from catalog.models import Product, Variant
from catalog.validators import normalize_code
from core import shortcuts
from core.api.authentication import request_actor
from core.api.caching import versioned_read
from core.api.idempotency import idempotent
from core.api.mixins import StrictRequestMixin, created
from core.api.permissions import CatalogPermission
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER


class ReadViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Reads come from a selector through an output serializer."""

    # Ids are positive 64-bit integers written without leading zeros: one address per object
    # (Idempotency-Keys are scoped by address). Anything else is an unknown address (404).
    lookup_value_regex = "[1-9][0-9]{0,17}"

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # Filters (and the default "active only") shape lists; a detail answers for any id.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


def _location_id(request: Request) -> int | None:
    """The id of the location ``?location=`` names, or None for none; an unknown or archived
    one is a validation error on ``location``. A parameter given empty or twice is left to the
    checks of every parameter (``StrictRequestMixin``, the filter backend), which refuse it."""
    codes = request.query_params.getlist("location")
    if len(codes) != 1 or not codes[0].strip():
        return None
    return stock_port.location_for_stock(codes[0]).pk


LOCATION_PARAMETER = OpenApiParameter(
    "location", str, required=False, description=filters.LOCATION_HELP
)


class CatalogViewSet(
    mixins.UpdateModelMixin,  # for partial_update; each resource's update calls its service
    ReadViewSet,
):
    """Reads come from a selector through an output serializer; writes go through services.

    Reads take ``?location=CODE``: the stock they show and filter by is that location's. It is
    resolved once, before the filters run, into ``location_id`` (None: totals over every
    location), which the selectors, the filters and the representations take."""

    permission_classes = [CatalogPermission]
    filter_backends = [filters.CatalogFilterBackend]
    location_id: int | None = None

    @property
    def query_parameters(self) -> frozenset[str]:  # type: ignore[override]
        # A detail reads at a location too (a list's parameters are its filters'); writes
        # take none.
        return frozenset({"location"}) if self.action == "retrieve" else frozenset()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action in ("list", "retrieve"):
            self.location_id = _location_id(request)


# ?sku=... or ?barcode=... alone, plainly written: no escapes, nothing a filter would refuse
# (empty, too long, not UTF-8), nothing else to filter, sort or page by. Anything else goes
# through the filters.
_EXACT_CODE = re.compile(r"(?P<column>sku|barcode)=(?P<value>[A-Za-z0-9-]{1,64})")
# The filters' longest values (longer is a validation error).
_CODE_LENGTHS = {"sku": 64, "barcode": 14}

# Products and variants are answered with the catalog's version: conditional, and cached in the
# shared cache while the version stands (see core.api.caching).
catalog_read = versioned_read(versions.VERSION_KEY, versions.current)


@extend_schema_view(
    retrieve=extend_schema(parameters=[LOCATION_PARAMETER]),
    create=extend_schema(
        request=ProductCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: ProductOutputSerializer},
    ),
    update=extend_schema(request=ProductUpdateSerializer, responses=ProductOutputSerializer),
    partial_update=extend_schema(
        request=ProductUpdateSerializer, responses=ProductOutputSerializer
    ),
    destroy=extend_schema(responses={204: None}),
)
class ProductViewSet(CatalogViewSet):
    """Products with their variants embedded. Archived products are listed only on request
    (``active=false`` or ``active=all``)."""

    filterset_class = ProductFilter
    serializer_class = ProductOutputSerializer

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.product_list(location_id=self.location_id)

    # Reads build their JSON from values() rows rather than instances (see representations,
    # which renders every answer of a product): a fraction of the cost. Four queries for a page
    # of any size (with the key's): count, products, their variants (at a location, one more:
    # the location's).
    @catalog_read
    def list(self, request: Request) -> Response:
        if not shortcuts.on("catalog-render"):  # docs/private-internals.md#catalog-render
            return super().list(request)
        queryset = self.filter_queryset(Product.objects.all())
        page = self.paginate_queryset(representations.product_rows(queryset))
        return self.get_paginated_response(
            representations.products(page or [], location_id=self.location_id)
        )

    @catalog_read
    def retrieve(self, request: Request, pk: str) -> Response:
        if not shortcuts.on("catalog-render"):
            return super().retrieve(request, pk)
        row = representations.one(representations.product_rows(Product.objects.all()), pk)
        return Response(representations.products([row], location_id=self.location_id)[0])

    @idempotent
    def create(self, request: Request) -> Response:
        serializer = ProductCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("variants", None)
        product = services.product_create(
            **data, variants=serializer.variant_specs(), actor=request_actor(request)
        )
        return created(self.render(product.pk), at="product-detail", pk=product.pk)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        product = self.get_object()
        serializer = ProductUpdateSerializer(product, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.product_update(product=product, data=serializer.validated_data)
        return Response(self.render(product.pk))

    def destroy(self, request: Request, pk: str) -> Response:
        services.product_delete(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def render(self, product_id: int) -> Any:
        return ProductOutputSerializer(selectors.product_get(product_id=product_id)).data


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[LOCATION_PARAMETER], responses=VariantDetailOutputSerializer
    ),
    create=extend_schema(
        request=VariantCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: VariantOutputSerializer},
    ),
    update=extend_schema(request=VariantUpdateSerializer, responses=VariantOutputSerializer),
    partial_update=extend_schema(
        request=VariantUpdateSerializer, responses=VariantOutputSerializer
    ),
    destroy=extend_schema(responses={204: None}),
)
class VariantViewSet(CatalogViewSet):
    """Variants by size, each with its own SKU, barcode and stock. Find one by ``sku`` or
    ``barcode``. The quantity is read-only here: it changes only through stock movements."""

    filterset_class = VariantFilter
    serializer_class = VariantOutputSerializer

    def get_queryset(self) -> QuerySet[Variant]:
        return selectors.variant_list(location_id=self.location_id)

    def get_serializer_class(self) -> type[BaseSerializer[Variant]]:
        if self.action == "retrieve":
            return VariantDetailOutputSerializer
        return VariantOutputSerializer

    # As for products: values() rows, through the same representations.variants.
    @catalog_read
    def list(self, request: Request) -> Response:
        if not shortcuts.on("catalog-render"):
            return super().list(request)
        code = _EXACT_CODE.fullmatch(request.META.get("QUERY_STRING", ""))
        if (
            code is not None
            and len(code["value"]) <= _CODE_LENGTHS[code["column"]]
            and shortcuts.on("sku-lookup")  # docs/private-internals.md#sku-lookup
        ):
            # A till's scan: one SKU or barcode and nothing else. One plain query, the answer
            # the filters would give (a test holds them equal), without their machinery, a
            # third of the lookup's time.
            column, value = code["column"], code["value"]
            rows = representations.variant_rows_by_code(
                column, normalize_code(value) if column == "sku" else value
            )
            return Response(
                {
                    "count": len(rows),
                    "next": None,
                    "previous": None,
                    "results": representations.variants(rows),
                }
            )
        queryset = self.filter_queryset(Variant.objects.with_stock(self.location_id))
        page = self.paginate_queryset(representations.variant_rows(queryset))
        return self.get_paginated_response(representations.variants(page or []))

    # A variant's detail lists its stock at every location too: one query more.
    @catalog_read
    def retrieve(self, request: Request, pk: str) -> Response:
        if not shortcuts.on("catalog-render"):
            return super().retrieve(request, pk)
        rows = representations.variant_rows(Variant.objects.with_stock(self.location_id))
        row = representations.one(rows, pk)
        return Response(representations.with_levels(representations.variants([row])[0]))

    @idempotent
    def create(self, request: Request) -> Response:
        serializer = VariantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variant = services.variant_create(**serializer.validated_data, actor=request_actor(request))
        return created(self.render(variant.pk), at="variant-detail", pk=variant.pk)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        variant = self.get_object()
        serializer: BaseSerializer[Variant] = VariantUpdateSerializer(
            variant, data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        services.variant_update(variant=variant, data=serializer.validated_data)
        return Response(self.render(variant.pk))

    def destroy(self, request: Request, pk: str) -> Response:
        services.variant_delete(variant=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def render(self, variant_id: int) -> Any:
        return VariantOutputSerializer(selectors.variant_get(variant_id=variant_id)).data
