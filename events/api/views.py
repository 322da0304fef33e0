"""The webhooks (``/webhooks/``: endpoints, their secrets and their deliveries) and the events
(``/events/``: what happened, for a client catching up). Every write goes through
``events.services``."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.filters import FilterBackend
from core.api.idempotency import idempotent
from core.api.mixins import StrictRequestMixin, created
from core.api.pagination import CursorPagination
from core.api.permissions import WebhookPermission
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER
from core.api.serializers import EmptyBodySerializer
from events import selectors, services
from events.api.filters import EventFilter
from events.api.payloads import EVENT_SCHEMA
from events.api.serializers import (
    DeliverySerializer,
    EventSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointOutputSerializer,
    WebhookEndpointSecretSerializer,
    WebhookEndpointUpdateSerializer,
)
from events.models import Delivery, Event, WebhookEndpoint

# Ids are positive integers without leading zeros: one address per object.
ID_REGEX = "[1-9][0-9]{0,17}"

_DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)


@extend_schema_view(
    create=extend_schema(
        request=WebhookEndpointCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: WebhookEndpointSecretSerializer},
        description="A new endpoint. Its signing secret is in this answer only: keep it.",
    ),
    partial_update=extend_schema(
        request=WebhookEndpointUpdateSerializer, responses=WebhookEndpointOutputSerializer
    ),
    destroy=extend_schema(responses={204: None}),
)
class WebhookEndpointViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Where events are sent: each endpoint gets the event types it subscribes to, POSTed as
    JSON and signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature``), retried for about a day until it answers 2xx."""

    serializer_class = WebhookEndpointOutputSerializer
    permission_classes = [WebhookPermission]
    lookup_value_regex = ID_REGEX
    filtered_actions = ("list", "deliveries")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoint_list()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @idempotent
    def create(self, request: Request) -> Response:
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(**serializer.validated_data)
        return created(
            WebhookEndpointSecretSerializer(endpoint).data, at="webhook-detail", pk=endpoint.pk
        )

    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        serializer = WebhookEndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, data=serializer.validated_data)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.endpoint_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: WebhookEndpointSecretSerializer},
        summary="Rotate the signing secret",
        description="A new secret, in this answer only. The previous one goes on signing "
        "beside it (a second signature in webhook-signature) for 24 hours.",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    @idempotent
    def rotate_secret(self, request: Request, pk: str) -> Response:
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object())
        return Response(WebhookEndpointSecretSerializer(endpoint).data)

    @extend_schema(responses=DeliverySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=CursorPagination)
    def deliveries(self, request: Request, pk: str) -> Response:
        """This endpoint's deliveries, newest first, each with its event and every attempt."""
        endpoint = self.get_object()
        deliveries = selectors.delivery_list(endpoint=endpoint)
        # No filters here, but an unknown parameter is refused as on every list.
        page = self.paginate_queryset(FilterBackend().filter_queryset(request, deliveries, self))
        serializer = DeliverySerializer(page, many=True)  # type: ignore[arg-type]  # many=True
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        request=None,
        parameters=[_DELIVERY_ID, IDEMPOTENCY_KEY_PARAMETER],
        responses={200: DeliverySerializer},
        summary="Send a delivery again",
        description="A failed (or succeeded) delivery is sent again from now, with a new round "
        "of retries; a pending one is left to its schedule.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=f"deliveries/(?P<delivery_id>{ID_REGEX})/redeliver",
        url_name="redeliver",
    )
    @idempotent
    def redeliver(self, request: Request, pk: str, delivery_id: str) -> Response:
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        endpoint = self.get_object()
        delivery: Delivery = get_object_or_404(
            Delivery.objects.filter(endpoint=endpoint), pk=delivery_id
        )
        delivery = services.delivery_redeliver(delivery=delivery)
        return Response(
            DeliverySerializer(selectors.delivery_list(endpoint=endpoint).get(pk=delivery.pk)).data
        )


@extend_schema_view(
    list=extend_schema(responses=EVENT_SCHEMA),
    retrieve=extend_schema(
        parameters=[
            OpenApiParameter(
                "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The event's id."
            )
        ],
        responses=EVENT_SCHEMA,
    ),
)
class EventViewSet(
    StrictRequestMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Every event, newest first, kept at least 7 days: a client that was down catches up
    here (``occurred_after``), then relies on its webhooks again."""

    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = CursorPagination
    permission_classes = [WebhookPermission]
    lookup_field = "uuid"
    lookup_url_kwarg = "pk"
    lookup_value_regex = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

    def get_queryset(self) -> QuerySet[Event]:
        return selectors.event_list()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset
