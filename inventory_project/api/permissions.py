from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Model
from rest_framework import permissions
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

from inventory_project.api.models import ApiKey, Scope


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
            return request.method in permissions.SAFE_METHODS or request.auth.has_scope(
                self.write_scope
            )
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        model: type[Model] = self._queryset(view).model
        return user.has_perms(self.get_required_permissions(request.method or "GET", model))

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
            return request.auth.has_scope(self.scope)
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_active
            and user.is_staff
            and user.has_perm(self.permission)
        )


class StockPermission(ScopeOrPermission):
    """Adjust and count stock."""

    scope = Scope.STOCK_WRITE
    permission = "catalog.change_stock"


class LedgerPermission(ScopeOrPermission):
    """Read the stock ledger: stock clients and staff, not every catalog reader."""

    scope = Scope.STOCK_WRITE
    permission = "catalog.view_stockmovement"


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
        return isinstance(request.auth, ApiKey) or needed is None or request.user.has_perm(needed)
