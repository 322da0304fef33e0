"""The API's filter backend: django-filter's, strict about the query string.

Every endpoint answers only the parameters it knows: a list its filters, its paging parameters
and ``format``; anything else just ``format``. An unknown parameter is a validation error naming
it, so that a misspelt filter (``?colour=red``) is refused rather than silently ignored, which
would answer every row. So is an empty one (``?active=``): it would otherwise mean "no filter",
which is not what a client that sent a value it failed to fill in meant. Every parameter must
also be valid UTF-8: Django would replace the broken bytes and filter by something the client
never sent.

Values are matched without regard to case everywhere: choices (``category=tees``), codes
(``collection=fw24``, SKUs), booleans (``TRUE``), orderings and text filters alike.
"""

from collections.abc import Iterable
from datetime import UTC
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import django_filters
from django import forms
from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters import fields, utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings

from core import shortcuts

# Query parameters of the paginators that DRF ships; those a view's paginator sets are allowed.
_PAGING_ATTRIBUTES = (
    "page_query_param",
    "page_size_query_param",
    "cursor_query_param",
    "limit_query_param",
    "offset_query_param",
)


def not_utf8_names(urlencoded: bytes) -> list[str]:
    """The names of the parameters of a query string whose name or value, once
    percent-decoded, is not UTF-8. Django would quietly replace those bytes with U+FFFD."""
    # Read as latin-1, each character stands for one byte.
    text = urlencoded.decode("latin-1")
    names = []
    for key, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        name, data = key.encode("latin-1"), value.encode("latin-1")
        try:
            name.decode("utf-8")
            data.decode("utf-8")
        except UnicodeDecodeError:
            names.append(name.decode("utf-8", errors="replace"))
    return names


def _not_utf8_errors(request: Request) -> dict[str, list[str]]:
    # Django has already decoded the query string, replacing what is not UTF-8; only the raw
    # bytes tell.
    raw = get_bytes_from_wsgi(request.META, "QUERY_STRING", "")
    if raw.isascii() and b"%" not in raw:  # the common case: nothing to decode
        return {}
    return {name: ["This value is not valid UTF-8."] for name in not_utf8_names(raw)}


def query_parameter_errors(
    request: Request,
    known: Iterable[str],
    *,
    repeatable: Iterable[str] = (),
    noun: str = "endpoint",
) -> dict[str, list[str]]:
    """Errors for the parameters of the query string that are unknown, empty, given twice
    (but for the ``repeatable`` ones, which take several values) or not UTF-8. Django would
    answer the last of two values, silently."""
    known, repeatable = set(known), set(repeatable)
    errors: dict[str, list[str]] = {}
    for name, values in request.query_params.lists():
        if name not in known:
            errors[name] = [
                f"Unknown query parameter. This {noun} takes: {', '.join(sorted(known))}."
            ]
        elif any(not value.strip() for value in values):
            errors[name] = ["This parameter is empty; give it a value or leave it out."]
        elif len(values) > 1 and name not in repeatable:
            errors[name] = ["This parameter is given more than once; it takes one value."]
    errors.update(_not_utf8_errors(request))
    return errors


def format_parameters() -> set[str]:
    """``format``, which every endpoint takes."""
    return {api_settings.URL_FORMAT_OVERRIDE} if api_settings.URL_FORMAT_OVERRIDE else set()


def known_query_parameters(view: Any, filterset_class: Any) -> set[str]:
    known = set(filterset_class.base_filters) if filterset_class is not None else set()
    paginator = getattr(view, "paginator", None)
    known.update(
        name
        for attribute in _PAGING_ATTRIBUTES
        if (name := getattr(paginator, attribute, None)) is not None
    )
    return known | format_parameters()


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend that refuses unknown and undecodable query parameters, and
    reports them together with the filters' own errors."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        filterset_class = self.get_filterset_class(view, queryset)
        known = known_query_parameters(view, filterset_class)
        repeatable = [
            name
            for name, filter_ in getattr(filterset_class, "base_filters", {}).items()
            if isinstance(filter_, django_filters.MultipleChoiceFilter)
        ]
        errors: dict[str, Any] = query_parameter_errors(
            request, known, repeatable=repeatable, noun="list"
        )
        filterset = self.get_filterset(request, queryset, view)
        if filterset is not None and not filterset.is_valid():
            errors = {**utils.translate_validation(filterset.errors).detail, **errors}
        if errors:
            raise ValidationError(errors)
        return queryset if filterset is None else filterset.qs


class _SharedFields(dict[str, forms.Field]):
    """A form class's fields, which each form shares instead of deep-copying them."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        # Form.__init__ deep-copies its class's fields (each with its widget, validators and
        # choices), about 90 copies per request for the product filters: a new dict of the
        # same fields is enough, as no field here changes after it is built (FilterSet's rule).
        return dict(self)


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet without its per-request deep copies.

    django-filter deep-copies every filter (with its form field and choices) for each request
    and builds a new form class from them: about a third of a product list's time in the
    benchmark's profile. A shallow copy per filter is enough (a filter's own state is its model
    and parent, set here), and the form class depends only on the filters, so it is built once
    per filter set. So a filter must not depend on the request (no ``queryset=callable`` on a
    choice filter): its form field is built for the first request and kept.

    Django's form then deep-copies those fields once more for each request; here every form
    shares them (a tenth of a list's time). So nothing may change a form field once it is built
    (no ``form.fields[name].required = ...`` in a filter set), and no field may keep what it
    read for a request: a ``ModelChoiceField`` keeps its queryset's rows, and is refused.
    """

    _form_classes: ClassVar[dict[type, type]] = {}

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Any] | None = None,
        *,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        if not shortcuts.on("filterset"):  # docs/private-internals.md#filterset
            super().__init__(data, queryset, request=request, prefix=prefix)
            return
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {}
        for name, base in self.base_filters.items():
            # copy.copy(base), without its generic protocol (a tenth of a filter set's cost).
            filter_ = object.__new__(type(base))
            filter_.__dict__.update(base.__dict__)
            filter_.model = queryset.model
            filter_.parent = self
            if filter_.method:
                # A method filter calls through an object bound to its filter: bind the copy.
                filter_.method = filter_.method
            self.filters[name] = filter_

    def get_form_class(self) -> Any:
        if not shortcuts.on("filterset"):
            return super().get_form_class()
        cls = type(self)
        form_class = FilterSet._form_classes.get(cls)
        if form_class is None:
            form_class = super().get_form_class()
            for name, field in form_class.base_fields.items():
                if isinstance(field, forms.ModelChoiceField):
                    raise TypeError(
                        f"{cls.__name__}.{name}: a model choice keeps its rows, and this "
                        "filter set's forms share their fields; use django-filter's FilterSet."
                    )
            form_class.base_fields = _SharedFields(form_class.base_fields)
            FilterSet._form_classes[cls] = form_class
        return form_class


def _canonical_choice(choices: Iterable[tuple[Any, Any]], value: str) -> str:
    """The choice that ``value`` names in any case; ``value`` itself if none does (an error)."""
    folded = value.casefold()
    return next(
        (key for key, _ in choices if isinstance(key, str) and key.casefold() == folded), value
    )


class AnyCaseChoiceField(fields.ChoiceField):
    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        return _canonical_choice(self.choices, value) if value else value


class AnyCaseMultipleChoiceField(fields.MultipleChoiceField):
    def to_python(self, value: Any) -> list[str]:
        return [_canonical_choice(self.choices, item) for item in super().to_python(value)]


class ChoiceFilter(django_filters.ChoiceFilter):
    """A choice, named in any case: ``size=l-xl`` is ``L-XL``."""

    field_class = AnyCaseChoiceField


class MultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    """Choices, each named in any case: ``category=tees&category=PANTS``."""

    field_class = AnyCaseMultipleChoiceField


class _OrderingField(fields.BaseCSVField):
    """Comma-separated keys in any case; an empty key (``price,``) is an error, not a key
    named "" that would reach the database."""

    def clean(self, value: Any) -> Any:
        if value and any(not item.strip() for item in value):
            raise forms.ValidationError(
                "An ordering key is empty; separate the keys with single commas, e.g. price,-name.",
                code="invalid",
            )
        return super().clean([item.strip().lower() for item in value] if value else value)


class OrderingFilter(django_filters.OrderingFilter):
    """Ordering with the primary key as the last key, so that pages never repeat or skip rows
    when many rows share a price or a name."""

    base_field_class = _OrderingField

    def filter(self, qs: QuerySet[Any], value: list[str] | None) -> QuerySet[Any]:
        ordering = [self.get_ordering_value(param) for param in value or []] or list(
            self.parent.default_ordering
        )
        if not any(key.lstrip("-") == "id" for key in ordering):
            ordering.append("-id" if ordering and ordering[0].startswith("-") else "id")
        return qs.order_by(*ordering)


class StoredIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, handed to the database in UTC.

    Any offset Python reads is taken (``+05:30``, ``+23:00``, even seconds), but PostgreSQL
    refuses offsets past 15:59 and would answer for the query, not for this parameter; in UTC
    it never sees one. A time that is out of range once in UTC (year 1 in UTC+5) is an error
    naming the parameter."""

    def to_python(self, value: Any) -> Any:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:
            raise forms.ValidationError("This time is out of range.", code="invalid") from error


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = StoredIsoDateTimeField
