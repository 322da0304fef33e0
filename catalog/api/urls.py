from rest_framework.routers import SimpleRouter

from catalog.api.views import ProductViewSet, StockMovementViewSet, VariantViewSet

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")
router.register("variants", VariantViewSet, basename="variant")
router.register("stock-movements", StockMovementViewSet, basename="stock-movement")

urlpatterns = router.urls
