"""The lean FilterSet's forms share their fields: sharing must not carry a request's state into
the next one."""

import django_filters
import pytest
from django.http import QueryDict

from catalog.api.filters import ProductFilter, VariantFilter
from catalog.models import Product
from core.api.filters import FilterSet
from orders.api.filters import OrderFilter
from stock.api.filters import StockMovementFilter


@pytest.mark.parametrize(
    "filter_set", [ProductFilter, VariantFilter, StockMovementFilter, OrderFilter]
)
def test_forms_share_their_fields_not_their_state(filter_set):
    first, second = filter_set(QueryDict()), filter_set(QueryDict())
    assert first.form.fields is not second.form.fields
    for name, field in first.form.fields.items():
        assert second.form.fields[name] is field


def test_an_invalid_request_leaves_nothing_for_the_next(db):
    bad = ProductFilter(QueryDict("price_min=cheap&category=Hats&in_stock=maybe&ordering=colour"))
    assert not bad.is_valid()
    assert set(bad.errors) == {"price_min", "category", "in_stock", "ordering"}
    good = ProductFilter(QueryDict("price_min=5&category=Tees&in_stock=true&ordering=-price"))
    assert good.is_valid(), good.errors
    assert good.form.cleaned_data["category"] == ["Tees"]
    assert good.form.cleaned_data["in_stock"] is True
    empty = ProductFilter(QueryDict())
    assert empty.is_valid()
    assert not empty.errors
    assert empty.form.cleaned_data["category"] == []
    assert empty.form.cleaned_data["price_min"] is None
    assert empty.form.cleaned_data["in_stock"] is None


def test_the_default_order_and_active_only_apply(db):
    default = ProductFilter(QueryDict(), Product.objects.all()).qs.query
    assert default.order_by == ("-created_at", "-id")
    assert 'WHERE "catalog_product"."is_active"' in str(default)
    ordered = ProductFilter(QueryDict("ordering=price"), Product.objects.all()).qs
    assert ordered.query.order_by == ("price", "id")
    # With an invalid ordering its filter does not run: the default order still holds.
    invalid = ProductFilter(QueryDict("ordering=colour"), Product.objects.all())
    assert not invalid.is_valid()
    assert invalid.filter_queryset(Product.objects.all()).query.order_by == ("-created_at", "-id")


def test_a_model_choice_filter_is_refused(db):
    class ByProduct(FilterSet):
        product = django_filters.ModelChoiceFilter(queryset=Product.objects.all())

        class Meta:
            model = Product
            fields: list[str] = []

    with pytest.raises(TypeError, match="model choice"):
        ByProduct(QueryDict()).form  # noqa: B018
