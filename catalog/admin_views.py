"""Admin pages beyond the model pages: the SKU finder in the header."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from catalog.models import Variant


def find_variant(request: HttpRequest) -> HttpResponse:
    """The header's search box: an exact SKU or barcode opens that variant; anything else lists
    the variants that match."""
    if not request.user.has_perm("catalog.view_variant"):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:100]
    if query:
        matches = list(
            Variant.objects.filter(Q(sku__iexact=query) | Q(barcode=query)).values_list(
                "pk", flat=True
            )[:2]
        )
        if len(matches) == 1:
            return HttpResponseRedirect(reverse("admin:catalog_variant_change", args=[matches[0]]))
    changelist = reverse("admin:catalog_variant_changelist")
    return HttpResponseRedirect(f"{changelist}?{urlencode({'q': query})}" if query else changelist)
