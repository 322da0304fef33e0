"""Which format an answer is written in.

DRF's negotiation, with two rules of this API:

- ``?format=`` names the format outright, whatever ``Accept`` says: a link, a Postman import or a
  CI check that asks for ``/api/schema/?format=yaml`` means YAML. A format the endpoint does not
  serve is 406 ``not_acceptable`` naming those it does (DRF would answer 404, as if the address
  were wrong).
- The browsable API is for staff signed in to the admin. Any other client that prefers
  ``text/html`` (a browser, a client sending a browser's ``Accept``) gets JSON, errors included,
  in the envelope every client can read.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        # A blank ?format= is refused as an empty parameter, with the other parameters.
        wanted = (
            format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE) or ""
        ).strip()
        if wanted:
            served = _served(request, renderers)
            named = [renderer for renderer in served if renderer.format == wanted]
            if not named:
                formats = sorted({str(renderer.format) for renderer in served})
                raise NotAcceptable(
                    f'The format "{wanted}" is not served here; use {" or ".join(formats)}.'
                )
            try:
                # Several types of one format (JSON as application/json or as the OpenAPI
                # type): the one the client accepts, else the first.
                return super().select_renderer(request, named)  # type: ignore[no-any-return]
            except NotAcceptable:
                return named[0], str(named[0].media_type)
        renderer, media_type = super().select_renderer(request, renderers)
        if isinstance(renderer, BrowsableAPIRenderer) and not _staff_session(request):
            fallback = _served(request, renderers)[0]
            return fallback, str(fallback.media_type)
        return renderer, media_type

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        # DRF's select_renderer reads ?format= again and narrows by it; the renderers it is
        # given above are already those of the format asked for.
        return list(renderers)


def _served(request: Request, renderers: list[BaseRenderer]) -> list[BaseRenderer]:
    """The renderers this request may get: the browsable API only for a staff session."""
    if _staff_session(request):
        return list(renderers)
    return [renderer for renderer in renderers if not isinstance(renderer, BrowsableAPIRenderer)]


def _staff_session(request: Request) -> bool:
    """A staff user signed in to the admin, making this request with the session (not a key)."""
    user: Any = request.user
    return request.auth is None and bool(user and user.is_authenticated and user.is_staff)
