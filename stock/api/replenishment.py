"""``/api/v1/replenishment/``: what to send from one location to bring another's low levels back
to their targets (GET), and the draft transfer that sends it (POST). Both through
``stock.replenishment``."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Size
from core.api.authentication import request_actor
from core.api.idempotency import idempotent
from core.api.mixins import StrictRequestMixin, created
from core.api.permissions import CatalogReadPermission, StockPermission
from core.api.schema import IDEMPOTENCY_KEY_PARAMETER
from core.api.serializers import InputSerializer
from stock import selectors
from stock.api.fields import LocationCodeField
from stock.api.transfer_serializers import TransferOutputSerializer, transfer_representation
from stock.models import NOTE_MAX_LENGTH
from stock.replenishment import (
    ReplenishmentLine,
    replenishment_lines,
    replenishment_locations,
    replenishment_transfer_create,
)

TO_HELP = "The code of the location to replenish (any case)."
FROM_HELP = "The code of the location the units come from (any case)."


class ReplenishmentPermission(permissions.BasePermission):
    """Reading the suggestion: every catalog reader (it is the stock levels, read another way).
    Drafting the transfer: an API key with ``stock:write``, or staff who may change stock."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        check = (
            CatalogReadPermission()
            if request.method in permissions.SAFE_METHODS
            else StockPermission()
        )
        allowed = check.has_permission(request, view)
        self.message = getattr(check, "message", None)
        return allowed


@extend_schema_serializer(component_name="ReplenishmentLine")
class ReplenishmentLineSerializer(serializers.Serializer[ReplenishmentLine]):
    variant = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    product_name = serializers.CharField(read_only=True)
    size = serializers.ChoiceField(choices=Size.choices, read_only=True)
    available = serializers.IntegerField(
        read_only=True, help_text="Units available at the destination: on hand - committed."
    )
    incoming = serializers.IntegerField(
        read_only=True, help_text="Units on their way to the destination (shipped transfers)."
    )
    drafted = serializers.IntegerField(
        read_only=True,
        help_text="Units in draft transfers to the destination (from any location): not "
        "shipped yet, but already asked for.",
    )
    low_stock_threshold = serializers.IntegerField(
        read_only=True, help_text="The destination level's, else the variant's."
    )
    target = serializers.IntegerField(
        read_only=True, help_text="The destination level's, else low_stock_threshold + 1."
    )
    available_at_source = serializers.IntegerField(
        read_only=True,
        help_text="Units available at the source, less those draft transfers from it already "
        "ask for.",
    )
    needed = serializers.IntegerField(
        read_only=True,
        help_text="target - available - incoming - drafted: what would reach the target.",
    )
    suggested = serializers.IntegerField(
        read_only=True,
        help_text="needed, limited by available_at_source; 0 when the source has none.",
    )

    def to_representation(self, instance: ReplenishmentLine) -> dict[str, Any]:
        return {
            "variant": instance.variant_id,
            "sku": instance.sku,
            "product_name": instance.product_name,
            "size": instance.size,
            "available": instance.available,
            "incoming": instance.incoming,
            "drafted": instance.drafted,
            "low_stock_threshold": instance.low_stock_threshold,
            "target": instance.target,
            "available_at_source": instance.available_at_source,
            "needed": instance.needed,
            "suggested": instance.suggested,
        }


@extend_schema_serializer(component_name="Replenishment")
class ReplenishmentSerializer(serializers.Serializer[Any]):
    to = serializers.CharField(read_only=True, help_text="The code of the location replenished.")
    lines = ReplenishmentLineSerializer(many=True, read_only=True)

    def get_fields(self) -> dict[str, Any]:
        # ``from`` is a Python keyword: no class attribute can name the field.
        fields = super().get_fields()
        fields["from"] = serializers.CharField(read_only=True, help_text="The source's code.")
        return fields

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        line = ReplenishmentLineSerializer()
        return {
            "to": instance["to"].code,
            "from": instance["from"].code,
            "lines": [line.to_representation(row) for row in instance["lines"]],
        }


@extend_schema_serializer(component_name="ReplenishmentCreate")
class ReplenishmentCreateSerializer(InputSerializer):
    to = LocationCodeField(help_text=TO_HELP)
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text='The transfer\'s note; "Replenishment" when blank.',
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = LocationCodeField(help_text=FROM_HELP)  # a keyword: see above
        return fields


class ReplenishmentView(StrictRequestMixin, APIView):
    permission_classes = [ReplenishmentPermission]
    query_parameters = frozenset({"to", "from"})

    @extend_schema(
        operation_id="replenishment_retrieve",
        tags=["replenishment"],
        parameters=[
            OpenApiParameter("to", str, required=True, description=TO_HELP),
            OpenApiParameter("from", str, required=True, description=FROM_HELP),
        ],
        responses={200: ReplenishmentSerializer},
        description="Every level at `to` (of an active product's variant) whose units available "
        "are at or below its low-stock threshold, with what would bring it to its target "
        "counting the units already incoming or in draft transfers to it (`needed`), and what `from` can send of it "
        "(`suggested`: needed, limited by what is available there). Levels whose incoming "
        "units already cover their target are left out. By product name, then variant. "
        "Missing, unknown, archived or identical locations are 400.",
    )
    def get(self, request: Request) -> Response:
        to, source = replenishment_locations(
            to_code=request.query_params.get("to"), from_code=request.query_params.get("from")
        )
        lines = replenishment_lines(to_location=to, from_location=source)
        return Response(ReplenishmentSerializer({"to": to, "from": source, "lines": lines}).data)

    @extend_schema(
        operation_id="replenishment_create",
        tags=["replenishment"],
        request=ReplenishmentCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: TransferOutputSerializer},
        description="A draft transfer from `from` to `to` with every line the suggestion "
        "(GET) has a quantity for. Nothing moves until the transfer is shipped. Nothing to "
        "suggest is 400 (on `to`); a key bound to locations must be bound to one of the two.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = ReplenishmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        to, source = replenishment_locations(to_code=data["to"], from_code=data["from"])
        transfer = replenishment_transfer_create(
            to_location=to, from_location=source, actor=request_actor(request), note=data["note"]
        )
        return created(
            transfer_representation(selectors.transfer_get(transfer_id=transfer.pk)),
            at="transfer-detail",
            pk=transfer.pk,
        )
