"""``/transfers/``: stock moved from one location to another. Drafted, shipped, received (in
parts), closed short or cancelled, each through ``stock.transfers``."""

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
from core.api.permissions import TransferPermission
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER
from core.api.serializers import EmptyBodySerializer
from stock import selectors, transfers
from stock.api.filters import TransferFilter
from stock.api.transfer_serializers import (
    TransferCreateSerializer,
    TransferOutputSerializer,
    TransferReceiveSerializer,
    transfer_representation,
)
from stock.models import Transfer


def _action_schema(summary: str, request: Any = None) -> Any:
    return extend_schema(
        summary=summary,
        request=request,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: TransferOutputSerializer},
    )


@extend_schema_view(
    create=extend_schema(
        summary="Draft a transfer",
        request=TransferCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: TransferOutputSerializer},
    ),
)
class TransferViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Stock moved from one location to another. A draft moves nothing; shipping takes every
    line off the source's shelf (only units available there: all or nothing) and shows them
    as ``incoming`` at the destination, on hand nowhere; receiving puts them on the
    destination's shelf, in parts if need be; closing a partly received transfer writes off
    the rest as lost in transit; cancelling a draft, or a shipped transfer of which nothing
    arrived, puts everything back. Newest first, cursor pages. An API key bound to locations
    ships only from its own and receives only at its own."""

    serializer_class = TransferOutputSerializer
    permission_classes = [TransferPermission]
    pagination_class = CursorPagination
    filterset_class = TransferFilter
    lookup_value_regex = ReadViewSet.lookup_value_regex

    def get_queryset(self) -> QuerySet[Transfer]:
        return selectors.transfer_list()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @idempotent
    def create(self, request: Request) -> Response:
        serializer = TransferCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = transfers.transfer_create(
            from_location=serializer.validated_data["from_location"],
            to_location=serializer.validated_data["to_location"],
            lines=serializer.line_requests(),
            note=serializer.validated_data["note"],
            reference=serializer.validated_data["reference"],
            actor=request_actor(request),
        )
        return created(self.render(transfer.pk), at="transfer-detail", pk=transfer.pk)

    @_action_schema("Ship: take every line off the source's shelf, incoming at the destination")
    @action(detail=True, methods=["post"])
    @idempotent
    def ship(self, request: Request, pk: str) -> Response:
        """All or nothing, and only from what is available at the source (units committed to
        open orders stay): 409 ``insufficient_stock`` names every short line."""
        transfer = self.get_object()
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        transfers.transfer_ship(transfer_id=transfer.pk, actor=request_actor(request))
        return Response(self.render(transfer.pk))

    @_action_schema("Receive units that arrived, line by line", TransferReceiveSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def receive(self, request: Request, pk: str) -> Response:
        """Each line's units go from incoming to on hand at the destination: never more than
        shipped and not received yet (400). When every unit has arrived, the transfer is
        ``received``."""
        transfer = self.get_object()
        serializer = TransferReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfers.transfer_receive(
            transfer_id=transfer.pk,
            lines=serializer.receipt_lines(),
            actor=request_actor(request),
        )
        return Response(self.render(transfer.pk))

    @_action_schema("Close: write off what never arrived as lost in transit")
    @action(detail=True, methods=["post"])
    @idempotent
    def close(self, request: Request, pk: str) -> Response:
        """End a transfer in transit that will receive no more: each line's units not
        received are lost in transit (``quantity_lost``, a ``lost`` movement at the
        destination), and the transfer is ``received`` with its ``shortfall``."""
        transfer = self.get_object()
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        transfers.transfer_close(transfer_id=transfer.pk, actor=request_actor(request))
        return Response(self.render(transfer.pk))

    @_action_schema("Cancel a draft, or a shipped transfer of which nothing arrived")
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        """A draft: nothing moves. In transit with nothing received yet: the units go back on
        the source's shelf (``transfer_cancelled``). Anything else: 409
        ``invalid_transition``."""
        transfer = self.get_object()
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        transfers.transfer_cancel(transfer_id=transfer.pk, actor=request_actor(request))
        return Response(self.render(transfer.pk))

    def render(self, transfer_id: int) -> dict[str, Any]:
        return transfer_representation(selectors.transfer_get(transfer_id=transfer_id))
