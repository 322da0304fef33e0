"""Webhook endpoints in the admin: their state (disabled after a day of failures), their
deliveries with every attempt, and redelivery; the events, read-only. Writes go through
``events.services``, as the API's do."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from core.exceptions import ApplicationError
from events import services
from events.models import URL_MAX_LENGTH, Delivery, DeliveryAttempt, Event, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(max_length=URL_MAX_LENGTH, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "is_active", "description"]


class DeliveryAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = fields = (
        "number",
        "attempted_at",
        "status_code",
        "duration_ms",
        "succeeded",
        "error",
        "response_body",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookEndpointForm
    list_display = [
        "url",
        "event_list",
        "is_active",
        "state",
        "failing_since",
        "degraded_since",
        "created_at",
    ]
    list_filter = ["is_active", ("disabled_at", admin.EmptyFieldListFilter)]
    search_fields = ["url", "description"]
    fields = [
        "url",
        "events",
        "is_active",
        "description",
        "disabled_at",
        "failing_since",
        "degraded_since",
        "previous_secret_expires_at",
    ]
    readonly_fields = [
        "disabled_at",
        "failing_since",
        "degraded_since",
        "previous_secret_expires_at",
    ]
    actions = ["rotate_secret"]

    @admin.display(description="Events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    @admin.display(description="State")
    def state(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.disabled_at is not None:
            return f"disabled after a day of failures ({endpoint.disabled_at:%Y-%m-%d %H:%M})"
        if not endpoint.is_active:
            return "off"
        if endpoint.failing_since is not None:
            return "failing"
        return "slow" if endpoint.degraded_since is not None else "ok"

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        data = {field: form.cleaned_data[field] for field in services.ENDPOINT_FIELDS}
        try:
            if change:
                services.endpoint_update(endpoint=obj, data=data)
                return
            created = services.endpoint_create(**data)
        except (ApplicationError, ValidationError) as error:
            message = error.message if isinstance(error, ApplicationError) else error.messages
            self.message_user(request, f"Nothing was saved: {message}", messages.ERROR)
            return
        obj.pk = created.pk
        obj._state.adding = False
        messages.warning(
            request,
            f"The signing secret of {created.url} is {created.secret} — copy it now: it will "
            "not be shown again.",
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=obj)

    @admin.action(
        description="Rotate the signing secret (the old one signs too for 24 hours)",
        permissions=["change"],
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one endpoint.", messages.ERROR)
            return
        endpoint = services.endpoint_rotate_secret(endpoint=queryset.get())
        messages.warning(
            request,
            f"The new signing secret of {endpoint.url} is {endpoint.secret} — copy it now: it "
            "will not be shown again. The previous one also signs for 24 hours.",
        )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every delivery with its attempts; failed ones, or those of a time range (filter by
    date), are sent again with the action."""

    list_display = ["id", "event", "endpoint", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "endpoint", "created_at"]
    list_select_related = ["event", "endpoint"]
    date_hierarchy = "created_at"
    readonly_fields = fields = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "created_at",
    )
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Send the selected deliveries again", permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = services.deliveries_redeliver(deliveries=queryset)
        self.message_user(
            request,
            f"{count} deliveries queued again (those still pending keep their schedule).",
            messages.SUCCESS,
        )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["uuid", "type", "occurred_at", "sequence", "dispatched_at"]
    list_filter = ["type"]
    date_hierarchy = "occurred_at"
    search_fields = ["uuid"]
    readonly_fields = fields = (
        "uuid",
        "type",
        "occurred_at",
        "data",
        "sequence",
        "key",
        "dispatched_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
