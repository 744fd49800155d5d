"""The REST API under /api/v1/ (django-ninja). OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs.

django-ninja was chosen over DRF + drf-spectacular: the request/response schemas are typed pydantic
models and the OpenAPI document is generated from the same code, with far less boilerplate.

All operations hang off the single `api` object, so `api.get_openapi_schema()` enumerates them
(`operations()` below lists them for the permission-matrix test).

Authentication: a per-user token (`Authorization: Bearer qs_<prefix>_<secret>`, see
qingshou.core.tokens) or the browser's Django session; with the session, unsafe methods need the
CSRF token in the X-CSRFToken header.
"""

from django.conf import settings
from ninja import NinjaAPI, Swagger

from qingshou.api.auth import SessionAuth, TokenAuth
from qingshou.api.dialer import router as dialer_router
from qingshou.api.errors import install_handlers
from qingshou.api.views import router
from qingshou.skiptrace.api import router as skiptrace_router

# The docs page uses ninja's bundled Swagger UI assets, served as our static files. Without the
# "ninja" app installed ninja would load them from a CDN, which we never do: then there are no docs.
_LOCAL_DOCS = "ninja" in settings.INSTALLED_APPS

api = NinjaAPI(
    title="qingshou API",
    version="1",
    description="清收 qingshou: cases, contact records (催记) and promises to pay, scoped to the caller.",
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    docs=Swagger(),
    docs_url="/docs" if _LOCAL_DOCS else None,
)
install_handlers(api)
api.add_router("", router)
api.add_router("", dialer_router)
api.add_router("", skiptrace_router)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str, str]]:
    """Every operation as (METHOD, path, operationId), paths as in the OpenAPI document."""
    schema = api.get_openapi_schema()
    out = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                out.append((method.upper(), path, op.get("operationId", "")))
    return sorted(out)
