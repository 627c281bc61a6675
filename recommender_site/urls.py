from django.contrib import admin
from django.urls import include, path

from movies.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("movies.api.urls")),
    path("analytics/", include("movies.analytics.urls")),
    path("", include("movies.web.urls")),
]

# JSON under /api/, the outage 503 for database errors raised anywhere (sessions too), else 500.html.
handler500 = "movies.middleware.server_error"
