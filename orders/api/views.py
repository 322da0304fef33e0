from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.authentication import request_actor
from core.api.idempotency import idempotent
from core.api.mixins import StrictRequestMixin, created
from core.api.models import ApiKey
from core.api.pagination import CursorPagination
from core.api.permissions import OrderPermission
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER
from core.api.serializers import EmptyBodySerializer
from orders import selectors, services
from orders.api import representations
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    OrderCreateSerializer,
    OrderOutputSerializer,
    OrderReturnCreateSerializer,
    OrderReturnOutputSerializer,
)
from orders.models import Order

_TRANSITION_SCHEMA = extend_schema(
    request=None,
    parameters=[IDEMPOTENCY_KEY_PARAMETER],
    responses={200: OrderOutputSerializer},
)


@extend_schema_view(
    create=extend_schema(
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OrderOutputSerializer},
    ),
)
class OrderViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Orders placed by client apps and staff. A client app sees only the orders it placed
    (another's answers 404); staff see all. Newest first, cursor pages."""

    serializer_class = OrderOutputSerializer
    permission_classes = [OrderPermission]
    pagination_class = CursorPagination
    filterset_class = OrderFilter
    lookup_value_regex = "[1-9][0-9]{0,17}"
    # Placing an order spends its own budget (THROTTLE_RATE_ORDER), not the general write one.
    throttle_actions = {"create": "order"}

    def get_queryset(self) -> QuerySet[Order]:
        orders = selectors.order_list()
        if isinstance(self.request.auth, ApiKey):
            return orders.filter(api_key=self.request.auth)
        return orders

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @idempotent
    def create(self, request: Request) -> Response:
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_place(
            lines=serializer.line_requests(),
            location=serializer.validated_data.get("location"),
            fulfil=serializer.validated_data["fulfil"],
            customer_reference=serializer.validated_data["customer_reference"],
            note=serializer.validated_data["note"],
            actor=request_actor(request),
        )
        # Rendered from the order as placed, its lines in hand: no query to read it back.
        return created(representations.order(order), at="order-detail", pk=order.pk)

    @_TRANSITION_SCHEMA
    @action(detail=True, methods=["post"])
    @idempotent
    def pay(self, request: Request, pk: str) -> Response:
        return self.transition(request, "pay")

    @_TRANSITION_SCHEMA
    @action(detail=True, methods=["post"])
    @idempotent
    def fulfil(self, request: Request, pk: str) -> Response:
        return self.transition(request, "fulfil")

    @_TRANSITION_SCHEMA
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel a placed or paid order, restocking every line exactly once."""
        return self.transition(request, "cancel")

    @extend_schema(
        request=OrderReturnCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OrderReturnOutputSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def returns(self, request: Request, pk: str) -> Response:
        """Return lines of a fulfilled order, in part or in full: restocked through the ledger,
        refunded at the prices they were sold at."""
        order = self.get_object()
        serializer = OrderReturnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_return = services.order_return(
            order_id=order.pk,
            lines=serializer.return_requests(),
            location=serializer.validated_data.get("location"),
            note=serializer.validated_data["note"],
            actor=request_actor(request),
        )
        data = OrderReturnOutputSerializer(
            selectors.order_return_get(return_id=order_return.pk)
        ).data
        # A return has no address of its own: it shows in its order's lines (returned_quantity).
        return created(data, at="order-detail", pk=order.pk)

    def transition(self, request: Request, name: str) -> Response:
        order = self.get_object()  # 404 for another client's order
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        services.order_transition(order_id=order.pk, action=name, actor=request_actor(request))
        return Response(self.render(order.pk))

    def render(self, order_id: int) -> Any:
        return OrderOutputSerializer(selectors.order_list().get(pk=order_id)).data
