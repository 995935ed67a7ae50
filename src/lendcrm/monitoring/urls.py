"""The monitoring API: each area's module names its own paths."""

from lendcrm.monitoring import covenant_api, oversight_api, portfolio_api

urlpatterns = [*covenant_api.urlpatterns, *oversight_api.urlpatterns, *portfolio_api.urlpatterns]
