"""The addresses of a variant's stock commands."""

from core.api.tests.support import VARIANTS


def adjust_url(variant):
    return f"{VARIANTS}{variant.pk}/adjust/"


def count_url(variant):
    return f"{VARIANTS}{variant.pk}/count/"
