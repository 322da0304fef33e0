from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Model
from rest_framework import permissions
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

from core.api.models import ApiKey, Scope

# Each refusal names what was missing: the caller learns which scope to ask for, or which
# permission a manager must give, instead of DRF's "You do not have permission".


def _key_has(permission: permissions.BasePermission, api_key: ApiKey, scope: str) -> bool:
    if api_key.has_scope(scope):
        return True
    permission.message = f"This API key lacks the scope {scope}."  # type: ignore[attr-defined]
    return False


def _is_staff(permission: permissions.BasePermission, user: Any) -> bool:
    if user and user.is_authenticated and user.is_active and user.is_staff:
        return True
    permission.message = "Only active staff users may use the API with a session."  # type: ignore[attr-defined]
    return False


def _user_has(permission: permissions.BasePermission, user: Any, needed: list[str]) -> bool:
    missing = [name for name in needed if not user.has_perm(name)]
    if not missing:
        return True
    permission.message = f"Your user lacks the permission {', '.join(missing)}."  # type: ignore[attr-defined]
    return False


class DenyAll(permissions.BasePermission):
    """The default: a view that forgets to say who may use it is closed, not open."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return False


class ScopedModelPermission(permissions.DjangoModelPermissions):
    """Reads: any valid API key, or a staff user with the model's view permission.

    Writes: an API key holding ``write_scope``, or a staff user with the model's add, change or
    delete permission (given through the "Store staff" and "Manager" groups).
    """

    write_scope: ClassVar[str]

    perms_map: ClassVar[dict[str, list[str]]] = {  # type: ignore[misc]
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if isinstance(request.auth, ApiKey):
            if request.method in permissions.SAFE_METHODS:
                return True
            return _key_has(self, request.auth, self.write_scope)
        user = request.user
        if not _is_staff(self, user):
            return False
        model: type[Model] = self._queryset(view).model
        return _user_has(self, user, self.get_required_permissions(request.method or "GET", model))

    def has_object_permission(self, request: Request, view: "APIView", obj: Any) -> bool:
        return True


class CatalogPermission(ScopedModelPermission):
    write_scope = Scope.CATALOG_WRITE


class ScopeOrPermission(permissions.BasePermission):
    """An API key holding ``scope``, or an active staff user holding ``permission``."""

    scope: ClassVar[str]
    permission: ClassVar[str]

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if isinstance(request.auth, ApiKey):
            return _key_has(self, request.auth, self.scope)
        return _is_staff(self, request.user) and _user_has(self, request.user, [self.permission])


class StockPermission(ScopeOrPermission):
    """Adjust and count stock."""

    scope = Scope.STOCK_WRITE
    permission = "catalog.change_stock"


class CatalogReadPermission(ScopeOrPermission):
    """What every catalog reader may read (where the stock is, and the locations): any API key,
    as for products and variants; staff who may view variants."""

    permission = "catalog.view_variant"

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if isinstance(request.auth, ApiKey):
            return True
        return super().has_permission(request, view)


class LocationPermission(CatalogReadPermission):
    """Locations are read as the catalog is, and managed by whoever manages it: an API key with
    ``catalog:write``, or staff who may change products (the Manager group). No staff group
    holds the location model's own permissions: the catalog's say who sets the store up."""

    write_scope = Scope.CATALOG_WRITE
    write_permission = "catalog.change_product"

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if request.method in permissions.SAFE_METHODS:
            return super().has_permission(request, view)
        if isinstance(request.auth, ApiKey):
            return _key_has(self, request.auth, self.write_scope)
        return _is_staff(self, request.user) and _user_has(
            self, request.user, [self.write_permission]
        )


class LedgerPermission(ScopeOrPermission):
    """Read the stock ledger: stock clients and staff, not every catalog reader."""

    scope = Scope.STOCK_WRITE
    permission = "stock.view_stockmovement"


class OrderPermission(ScopeOrPermission):
    """Client apps with ``orders:write`` (each sees only its own orders); staff with the order
    permission that the action needs."""

    scope = Scope.ORDERS_WRITE
    permission = "orders.view_order"
    action_permissions: ClassVar[dict[str, str]] = {
        "create": "orders.add_order",
        "pay": "orders.change_order",
        "fulfil": "orders.change_order",
        "cancel": "orders.change_order",
        "returns": "orders.return_order",
    }

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not super().has_permission(request, view):
            return False
        action = getattr(view, "action", None) or ""
        needed = self.action_permissions.get(action)
        if isinstance(request.auth, ApiKey) or needed is None:
            return True
        return _user_has(self, request.user, [needed])


class TransferPermission(ScopeOrPermission):
    """Transfers between locations: stock clients (``stock:write``) read them and act on them;
    staff read them as they read the ledger, and act on them as they change stock."""

    scope = Scope.STOCK_WRITE
    permission = LedgerPermission.permission
    write_permission = StockPermission.permission

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not super().has_permission(request, view):
            return False
        if isinstance(request.auth, ApiKey) or request.method in permissions.SAFE_METHODS:
            return True
        return _user_has(self, request.user, [self.write_permission])


class WebhookPermission(ScopeOrPermission):
    """Webhook endpoints, their deliveries and the events: an API key with ``webhooks:manage``;
    staff who may view endpoints (to read) or change them (to write)."""

    scope = Scope.WEBHOOKS_MANAGE
    permission = "events.view_webhookendpoint"

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not super().has_permission(request, view):
            return False
        if isinstance(request.auth, ApiKey) or request.method in permissions.SAFE_METHODS:
            return True
        return _user_has(self, request.user, ["events.change_webhookendpoint"])
