"""Reads of count sessions (``stock.counts`` writes them): the list, one with its lines, and
whether one is open at a location."""

from django.db.models import Count, Prefetch, Q, QuerySet

from stock.models import CountLine, CountSession, CountStatus, Location


def count_list() -> QuerySet[CountSession]:
    """Every session, newest first, with its location, product and how many lines it has and
    how many of them are counted (one query for a page, however many lines)."""
    return (
        CountSession.objects.select_related("location", "product")
        .annotate(
            line_count=Count("lines"),
            counted_count=Count("lines", filter=Q(lines__counted__isnull=False)),
        )
        .order_by("-id")
    )


def count_session() -> QuerySet[CountSession]:
    """The sessions with their location and product, nothing counted."""
    return CountSession.objects.select_related("location", "product")


def count_with_lines() -> QuerySet[CountSession]:
    """The sessions as ``count_list`` has them, each with its lines by variant, each line with
    its variant and product (one query more for all of them)."""
    lines = CountLine.objects.select_related("variant__product").order_by("variant_id")
    return count_list().prefetch_related(Prefetch("lines", queryset=lines))


def count_open_at(location: Location) -> int | None:
    """The id of the session open at ``location``, if one is."""
    return (
        CountSession.objects.filter(location=location, status=CountStatus.OPEN)
        .values_list("pk", flat=True)
        .first()
    )
