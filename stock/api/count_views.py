"""Count sessions (``/counts/``): start one at a location, enter counts by barcode, SKU or id,
preview the corrections, apply or cancel. Every write goes through ``stock.counts``."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api.views import ReadViewSet
from core.api.authentication import request_actor
from core.api.idempotency import idempotent
from core.api.mixins import StrictRequestMixin, created
from core.api.pagination import CursorPagination
from core.api.permissions import StockPermission
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER
from core.api.serializers import EmptyBodySerializer
from stock import count_selectors, counts
from stock.api.count_serializers import (
    CountCreateSerializer,
    CountDetailSerializer,
    CountEntrySerializer,
    CountLineSerializer,
    CountResultSerializer,
    CountSerializer,
)
from stock.api.filters import CountFilter
from stock.models import CountSession


@extend_schema_view(
    create=extend_schema(
        request=CountCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CountDetailSerializer},
    ),
    retrieve=extend_schema(responses=CountDetailSerializer),
)
class CountViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Counts taken while the shop stays open. A session snapshots each variant's units on hand
    at its location; counts are entered by scanning (each scan adds one) or as quantities;
    applying corrects each counted variant by its count less what was on hand when it was
    counted, so sales and deliveries meanwhile are not taken for shrinkage. One open session
    per location. Counting is stock work: an API key needs ``stock:write``, and a key bound to
    locations counts only at its own. Newest first."""

    serializer_class = CountSerializer
    filterset_class = CountFilter
    pagination_class = CursorPagination
    permission_classes = [StockPermission]
    lookup_value_regex = ReadViewSet.lookup_value_regex

    def get_queryset(self) -> QuerySet[CountSession]:
        if self.action == "list":
            return count_selectors.count_list()
        if self.action == "retrieve":
            return count_selectors.count_with_lines()
        # The actions find the session (404) and leave the rest to the services: no counts of
        # lines on every scan.
        return count_selectors.count_session()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @idempotent
    def create(self, request: Request) -> Response:
        serializer = CountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = counts.count_start(**serializer.validated_data, actor=request_actor(request))
        return created(self.render(session.pk), at="count-detail", pk=session.pk)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(CountDetailSerializer(self.get_object()).data)

    @extend_schema(
        request=CountEntrySerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: CountLineSerializer},
        summary="Enter a count: scan a barcode (adds one) or give the counted quantity",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def lines(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        serializer = CountEntrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = counts.count_enter(
            session_id=session.pk, **serializer.entry(), actor=request_actor(request)
        )
        return Response(CountLineSerializer(line).data)

    @extend_schema(
        responses=CountResultSerializer,
        operation_id="counts_preview",
        summary="Every correction applying would make now, with its value",
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str) -> Response:
        result = counts.count_preview(session=self.get_object())
        return Response(CountResultSerializer(result).data)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: CountResultSerializer},
        summary="Apply every correction, all or none; again, the same result",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def apply(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        result = counts.count_apply(session_id=session.pk, actor=request_actor(request))
        return Response(CountResultSerializer(result).data)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: CountDetailSerializer},
        summary="Cancel an open session: nothing moves",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        counts.count_cancel(session_id=session.pk, actor=request_actor(request))
        return Response(self.render(session.pk))

    def render(self, session_id: int) -> Any:
        return CountDetailSerializer(count_selectors.count_with_lines().get(pk=session_id)).data
