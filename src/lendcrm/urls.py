from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from lendcrm.core.views import healthz

api_v1 = [
    path("", include("lendcrm.core.urls")),
    path("", include("lendcrm.parties.urls")),
    path("", include("lendcrm.interactions.urls")),
    path("", include("lendcrm.pipeline.urls")),
    path("", include("lendcrm.origination.urls")),
    path("", include("lendcrm.servicing.urls")),
    path("", include("lendcrm.monitoring.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("lendcrm.web.urls")),
]

handler404 = "lendcrm.core.views.not_found"
handler500 = "lendcrm.core.views.server_error"
