from rest_framework.routers import SimpleRouter

from stock.api.views import StockMovementViewSet, VariantStockViewSet

router = SimpleRouter()
# Under the variants' prefix: only the stock actions (adjust, count, movements); the variant's
# list and detail are the catalog's.
router.register("variants", VariantStockViewSet, basename="variant")
router.register("stock-movements", StockMovementViewSet, basename="stock-movement")

urlpatterns = router.urls
