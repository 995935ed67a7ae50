"""The servicing API: each area's module names its own paths."""

from lendcrm.servicing import book_api, classification_api, repayment_api

urlpatterns = [*book_api.urlpatterns, *repayment_api.urlpatterns, *classification_api.urlpatterns]
