from rest_framework.routers import SimpleRouter

from events.api.views import EventViewSet, WebhookEndpointViewSet

router = SimpleRouter()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
