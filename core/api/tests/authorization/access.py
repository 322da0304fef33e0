"""The table of who may do what: the kinds of caller, the access rules, and what each rule
answers each caller: the endpoint's own success status (``OK``) or a refusal."""

# Callers
ANONYMOUS = "anonymous"
UNKNOWN_KEY = "unknown key"
REVOKED_KEY = "revoked key"
EXPIRED_KEY = "expired key"
READ_KEY = "read key"
CATALOG_KEY = "catalog:write key"
STOCK_KEY = "stock:write key"
REPORTS_KEY = "reports:read key"
WEBHOOKS_KEY = "webhooks:manage key"
ORDERS_KEY = "orders:write key"  # the client app that placed the orders under test
OTHER_ORDERS_KEY = "another client's orders:write key"
STORE_STAFF = "Store staff"
MANAGER = "Manager"
ORDER_VIEWER = "staff who may only view orders"
STAFF_NO_GROUP = "staff without groups"
NON_STAFF = "non-staff user"
NON_STAFF_MANAGER = "non-staff user in Manager"  # e.g. taken off staff, groups left behind
INACTIVE_MANAGER = "deactivated Manager"
SUPERUSER = "superuser"

OK = "ok"  # the endpoint's success status

# Access rules
PUBLIC = "public"
CATALOG_READ = "catalog read"
CATALOG_WRITE = "catalog write"
STOCK_WRITE = "stock write"
LEDGER_READ = "ledger read"
ORDERS = "orders"  # the orders' list, and what no one may do to an order whoever owns it
ORDER_READ = "order read"
ORDER_CREATE = "order create"
ORDER_MOVE = "order move"
ORDER_RETURN = "order return"
SALES = "sales"
WEBHOOKS = "webhooks"  # webhook endpoints, their deliveries, and the events

RULES = (
    PUBLIC,
    CATALOG_READ,
    CATALOG_WRITE,
    STOCK_WRITE,
    LEDGER_READ,
    ORDERS,
    ORDER_READ,
    ORDER_CREATE,
    ORDER_MOVE,
    ORDER_RETURN,
    SALES,
    WEBHOOKS,
)

ACCESS: dict[str, tuple[int | str, ...]] = {
    #                  public catalog catalog stock ledger orders order order  order order  sales  web-
    #                         read    write   write read          read  create move  return          hooks
    ANONYMOUS:         (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401,   401),
    UNKNOWN_KEY:       (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401,   401),
    REVOKED_KEY:       (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401,   401),
    EXPIRED_KEY:       (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401,   401),
    READ_KEY:          (OK,   OK,     403,    403,  403,   403,   403,  403,   403,  403,   403,   403),
    CATALOG_KEY:       (OK,   OK,     OK,     403,  403,   403,   403,  403,   403,  403,   403,   403),
    STOCK_KEY:         (OK,   OK,     403,    OK,   OK,    403,   403,  403,   403,  403,   403,   403),
    REPORTS_KEY:       (OK,   OK,     403,    403,  403,   403,   403,  403,   403,  403,   OK,    403),
    WEBHOOKS_KEY:      (OK,   OK,     403,    403,  403,   403,   403,  403,   403,  403,   403,   OK),
    ORDERS_KEY:        (OK,   OK,     403,    403,  403,   OK,    OK,   OK,    OK,   OK,    403,   403),
    OTHER_ORDERS_KEY:  (OK,   OK,     403,    403,  403,   OK,    404,  OK,    404,  404,   403,   403),
    STORE_STAFF:       (OK,   OK,     403,    OK,   OK,    OK,    OK,   OK,    OK,   OK,    OK,    403),
    MANAGER:           (OK,   OK,     OK,     OK,   OK,    OK,    OK,   OK,    OK,   OK,    OK,    OK),
    ORDER_VIEWER:      (OK,   403,    403,    403,  403,   OK,    OK,   403,   403,  403,   OK,   403),
    STAFF_NO_GROUP:    (OK,   403,    403,    403,  403,   403,   403,  403,   403,  403,   403,   403),
    NON_STAFF:         (OK,   403,    403,    403,  403,   403,   403,  403,   403,  403,   403,   403),
    NON_STAFF_MANAGER: (OK,   403,    403,    403,  403,   403,   403,  403,   403,  403,   403,   403),
    INACTIVE_MANAGER:  (OK,   401,    401,    401,  401,   401,   401,  401,   401,  401,   401,   401),
    SUPERUSER:         (OK,   OK,     OK,     OK,   OK,    OK,    OK,   OK,    OK,   OK,    OK,    OK),
}  # fmt: skip

# Without credentials the answer is "not_authenticated"; with a key that is not good, it is
# "authentication_failed". A deactivated user's session no longer authenticates anyone.
NO_CREDENTIALS = ("not_authenticated", "Authentication credentials were not provided.")
UNAUTHENTICATED = {
    ANONYMOUS: NO_CREDENTIALS,
    INACTIVE_MANAGER: NO_CREDENTIALS,
    UNKNOWN_KEY: ("authentication_failed", "Invalid API key."),
    REVOKED_KEY: ("authentication_failed", "This API key has been revoked."),
    EXPIRED_KEY: ("authentication_failed", "This API key has expired."),
}
SAFE_METHODS = ("get", "head", "options")
REFUSAL_CODES = {
    400: "validation_error",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
}
