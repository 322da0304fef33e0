from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from catalog.admin_views import find_variant
from core.api import views as api_views
from reports.admin_views import dashboard
from stock.admin.replenishment import replenishment

public = {"permission_classes": [AllowAny], "authentication_classes": []}

urlpatterns = [
    # Staff pages beside the model pages, behind the admin's own login.
    path(
        f"{settings.ADMIN_URL}dashboard/", admin.site.admin_view(dashboard), name="admin-dashboard"
    ),
    path(f"{settings.ADMIN_URL}find/", admin.site.admin_view(find_variant), name="admin-find"),
    path(
        f"{settings.ADMIN_URL}replenishment/",
        admin.site.admin_view(replenishment),
        name="admin-replenishment",
    ),
    path(settings.ADMIN_URL, admin.site.urls),
    path("", api_views.root, name="root"),
    path("api/", api_views.ApiIndexView.as_view(), name="api-index"),
    path("api/v1/", api_views.ApiV1IndexView.as_view(), name="api-v1"),
    path("api/v1/", include("catalog.api.urls")),
    path("api/v1/", include("stock.api.urls")),
    path("api/v1/", include("orders.api.urls")),
    path("api/v1/", include("reports.api.urls")),
    path("api/v1/", include("events.api.urls")),
    path("api/schema/", api_views.SchemaView.as_view(**public), name="schema"),
    path(
        # The split view serves its start-up script as a file, not inline, so the content
        # security policy can forbid inline scripts.
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", **public),
        name="swagger-ui",
    ),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", **public), name="redoc"),
    path("healthz", api_views.healthz, name="healthz"),
    path("readyz", api_views.readyz, name="readyz"),
    # Anything else under /api/ answers in the error envelope, with debug on or off.
    re_path(r"^api/", api_views.api_not_found, name="api-not-found"),
]

handler400 = "core.api.views.handler400"
handler403 = "core.api.views.handler403"
handler404 = "core.api.views.handler404"
handler500 = "core.api.views.handler500"
