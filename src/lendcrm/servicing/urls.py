"""The servicing API: each area's module names its own paths."""

from lendcrm.servicing import book_api, classification_api

urlpatterns = [*book_api.urlpatterns, *classification_api.urlpatterns]
