"""The admin's form for recording a return of a fulfilled order."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from orders.models import NOTE_MAX_LENGTH, OrderLine
from orders.services import InvalidOrderLines, ReturnRequest


class ReturnForm(forms.Form):
    """A return of a fulfilled order: for each line, how many came back (0 for none), at most
    what was sold and not returned yet; and a note. The service checks it all again under the
    order's lock, so a return recorded meanwhile elsewhere cannot be counted twice."""

    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="e.g. the reason, or the receipt number",
    )

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            remaining = line.quantity - line.returned_quantity
            # Not disabled when nothing is left: a page drawn before another return took the
            # rest still posts its number, which must be refused, not dropped.
            self.fields[self.field_name(line)] = forms.IntegerField(
                label=f"{line.sku} ({line.get_size_display()})",
                required=False,
                min_value=0,
                max_value=remaining,
                initial=0,
                widget=forms.NumberInput(attrs={"min": 0, "max": remaining}),
                error_messages={
                    "max_value": f"At most {remaining}: sold {line.quantity}, "
                    f"returned {line.returned_quantity} already."
                },
            )

    @staticmethod
    def field_name(line: OrderLine) -> str:
        return f"line_{line.pk}"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(self.field_name(line)) for line in self.lines):
            raise ValidationError("Enter the units returned for at least one line.")
        return data

    def requests(self) -> list[ReturnRequest]:
        quantities = [
            (line, self.cleaned_data.get(self.field_name(line)) or 0) for line in self.lines
        ]
        return [ReturnRequest(line_id=line.pk, quantity=qty) for line, qty in quantities if qty]

    def add_service_errors(self, error: InvalidOrderLines) -> None:
        """The service's errors, one entry per requested line, onto that line's field."""
        per_line = (error.details or {}).get("lines", [])
        requests = self.requests()
        if len(per_line) != len(requests) or not all(isinstance(e, dict) for e in per_line):
            self.add_error(None, " ".join(str(e) for e in per_line) or error.message)
            return
        by_id = {line.pk: line for line in self.lines}
        for request, errors in zip(requests, per_line, strict=True):
            for messages_ in errors.values():
                self.add_error(self.field_name(by_id[request.line_id]), messages_)
