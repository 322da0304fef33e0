"""The stock's endpoints: a variant's stock changes and its ledger
(``/variants/{id}/adjust/``, ``/count/``, ``/movements/``), the whole ledger
(``/stock-movements/``), the locations (``/locations/``) and the stock at each
(``/stock-levels/``). Every write goes through ``stock.services`` or ``stock.locations``."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors as catalog_selectors
from catalog.api.serializers import VariantOutputSerializer
from catalog.api.views import ReadViewSet, VariantViewSet
from catalog.models import Variant
from catalog.validators import normalize_code
from core.api.authentication import request_actor
from core.api.filters import FilterBackend
from core.api.idempotency import idempotent
from core.api.mixins import StrictRequestMixin, created
from core.api.pagination import CursorPagination
from core.api.permissions import (
    CatalogReadPermission,
    LedgerPermission,
    LocationPermission,
    StockPermission,
)
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER
from stock import locations, selectors, services
from stock.api.filters import LocationFilter, StockLevelFilter, StockMovementFilter
from stock.api.serializers import (
    LocationCreateSerializer,
    LocationOutputSerializer,
    LocationUpdateSerializer,
    StockAdjustSerializer,
    StockCountSerializer,
    StockLevelSerializer,
    StockLevelSettingsInputSerializer,
    StockMovementSerializer,
    StockResultSerializer,
)
from stock.models import Location, StockLevel, StockMovement


class VariantStockViewSet(StrictRequestMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    # A variant's stock, under the variant's own address: only the actions below. The variant
    # itself is listed, read and written at /variants/ (catalog's VariantViewSet), whose
    # description the schema shows for these actions too.
    __doc__ = VariantViewSet.__doc__

    serializer_class = VariantOutputSerializer
    lookup_value_regex = ReadViewSet.lookup_value_regex
    filtered_actions = ("movements",)

    def get_queryset(self) -> QuerySet[Variant]:
        return catalog_selectors.variant_list()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # Any variant's stock, archived or not, as its detail answers for any id.
        return queryset

    def render(self, variant_id: int) -> Any:
        return VariantOutputSerializer(catalog_selectors.variant_get(variant_id=variant_id)).data

    @extend_schema(
        request=StockAdjustSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: StockResultSerializer},
        summary="Change the stock by a signed amount, with a reason",
    )
    @action(detail=True, methods=["post"], permission_classes=[StockPermission])
    @idempotent
    def adjust(self, request: Request, pk: str) -> Response:
        variant = self.get_object()
        serializer = StockAdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        movement = services.stock_adjust(
            variant_id=variant.pk, **serializer.validated_data, actor=request_actor(request)
        )
        return self.stock_result(movement)

    @extend_schema(
        request=StockCountSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: StockResultSerializer},
        summary="Set the counted quantity (a stocktake)",
    )
    @action(detail=True, methods=["post"], permission_classes=[StockPermission])
    @idempotent
    def count(self, request: Request, pk: str) -> Response:
        variant = self.get_object()
        serializer = StockCountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        movement = services.stock_count(
            variant_id=variant.pk, **serializer.validated_data, actor=request_actor(request)
        )
        return self.stock_result(movement)

    @extend_schema(
        request=StockLevelSettingsInputSerializer,
        parameters=[
            OpenApiParameter(
                "location_code",
                str,
                OpenApiParameter.PATH,
                description="The location's code, any case.",
            ),
            IDEMPOTENCY_KEY_PARAMETER,
        ],
        responses={200: StockLevelSerializer},
        summary="Set the variant's low-stock threshold and target at a location",
    )
    @action(
        detail=True,
        methods=["put"],
        url_path=r"levels/(?P<location_code>[^/.]+)",
        url_name="level-settings",
        permission_classes=[StockPermission],
    )
    @idempotent
    def level_settings(self, request: Request, pk: str, location_code: str) -> Response:
        """Both values are given; null clears one, and the default applies again (the
        variant's threshold; the threshold + 1 for the target). A key bound to locations sets
        them only at its own. Creates the variant's (empty) level there if it has none."""
        variant = self.get_object()
        code = normalize_code(location_code)
        location = Location.objects.filter(code=code).first()
        if location is None:
            raise Location.DoesNotExist(f"No location with code {code}.")
        serializer = StockLevelSettingsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        level = services.stock_level_settings_set(
            variant=variant,
            location=location,
            **serializer.validated_data,
            actor=request_actor(request),
        )
        return Response(StockLevelSerializer(level).data)

    @extend_schema(responses=StockMovementSerializer(many=True), filters=False)
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[LedgerPermission],
        pagination_class=CursorPagination,
    )
    def movements(self, request: Request, pk: str) -> Response:
        """This variant's stock movements, newest first."""
        variant = self.get_object()
        movements = selectors.stock_movement_list().filter(variant=variant)
        # No filters here, but an unknown parameter is refused as on every list.
        page = self.paginate_queryset(FilterBackend().filter_queryset(request, movements, self))
        serializer = StockMovementSerializer(page, many=True, context=self.get_serializer_context())  # type: ignore[arg-type]  # many=True
        return self.get_paginated_response(serializer.data)

    def stock_result(self, movement: StockMovement) -> Response:
        data = {
            "variant": self.render(movement.variant_id),
            "movement": StockMovementSerializer(
                movement, context=self.get_serializer_context()
            ).data,
        }
        return created(data, at="stock-movement-detail", pk=movement.pk)


class StockMovementViewSet(ReadViewSet):
    """The stock ledger: every change of every quantity, newest first. Read-only: movements are
    never changed or deleted."""

    serializer_class = StockMovementSerializer
    filterset_class = StockMovementFilter
    pagination_class = CursorPagination
    permission_classes = [LedgerPermission]

    def get_queryset(self) -> QuerySet[StockMovement]:
        return selectors.stock_movement_list()


@extend_schema_view(
    create=extend_schema(
        request=LocationCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: LocationOutputSerializer},
    ),
    partial_update=extend_schema(
        request=LocationUpdateSerializer, responses=LocationOutputSerializer
    ),
)
class LocationViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """The places that hold stock: warehouses, shops, the web shop's stock. Exactly one is the
    default, where stock changes and orders that name no location happen. Never deleted: a
    location is archived (``is_active: false``) once it holds no stock, and keeps its history."""

    serializer_class = LocationOutputSerializer
    filterset_class = LocationFilter
    permission_classes = [LocationPermission]
    lookup_value_regex = ReadViewSet.lookup_value_regex

    def get_queryset(self) -> QuerySet[Location]:
        return selectors.location_list()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @idempotent
    def create(self, request: Request) -> Response:
        serializer = LocationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location = locations.location_create(**serializer.validated_data)
        return created(
            LocationOutputSerializer(location).data, at="location-detail", pk=location.pk
        )

    def partial_update(self, request: Request, pk: str) -> Response:
        location = self.get_object()
        serializer = LocationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location = locations.location_update(location=location, data=serializer.validated_data)
        return Response(LocationOutputSerializer(location).data)


class StockLevelViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Each variant's stock at each location where it has had any: units on hand, committed
    to open orders, available (the difference), and incoming (shipped there by a transfer,
    not received yet: on hand nowhere). Levels at archived locations are listed too (they hold
    nothing). A variant's ``quantity`` is its ``available`` summed over every
    location. By variant, then location."""

    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    permission_classes = [CatalogReadPermission]

    def get_queryset(self) -> QuerySet[StockLevel]:
        return selectors.stock_level_list()
