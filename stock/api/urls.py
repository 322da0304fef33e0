from django.urls import path
from rest_framework.routers import SimpleRouter

from stock.api.count_views import CountViewSet
from stock.api.replenishment import ReplenishmentView
from stock.api.transfer_views import TransferViewSet
from stock.api.views import (
    LocationViewSet,
    StockLevelViewSet,
    StockMovementViewSet,
    VariantStockViewSet,
)

router = SimpleRouter()
# Under the variants' prefix: only the stock actions (adjust, count, movements); the variant's
# list and detail are the catalog's.
router.register("variants", VariantStockViewSet, basename="variant")
router.register("stock-movements", StockMovementViewSet, basename="stock-movement")
router.register("stock-levels", StockLevelViewSet, basename="stock-level")
router.register("locations", LocationViewSet, basename="location")
router.register("transfers", TransferViewSet, basename="transfer")
router.register("counts", CountViewSet, basename="count")

urlpatterns = [
    *router.urls,
    path("replenishment/", ReplenishmentView.as_view(), name="replenishment"),
]
