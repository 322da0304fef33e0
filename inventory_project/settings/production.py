"""Production settings: the base settings, hardened for serving behind a TLS proxy. Debug stays
off whatever the environment says; ``manage.py check --deploy`` reports nothing (CI checks)."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, env

DEBUG = False

# TLS ends at the load balancer, which must set X-Forwarded-Proto (and strip it from clients).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain-HTTP requests are redirected to HTTPS, except the health checks a load balancer makes
# over plain HTTP inside the network. Off only when the proxy redirects itself.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Browsers remember to use HTTPS only (a year by default; 0 turns HSTS off).
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
# Cookies (the admin's session and CSRF token) only over HTTPS.
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# One proxy in front (the TLS proxy above) appends the client's address to X-Forwarded-For;
# throttling and the admin's lockout count by it. 0 when nothing is in front. The app's port
# must then be reachable only through the proxy, or clients could write the header themselves.
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=1)}
