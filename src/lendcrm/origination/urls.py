from django.urls import path

from lendcrm.origination import api, authority_api

urlpatterns = [
    path("applications/", api.ApplicationList.as_view(), name="application-list"),
    path("applications/<int:pk>/", api.ApplicationDetail.as_view(), name="application-detail"),
    path(
        "applications/<int:pk>/transitions/",
        api.ApplicationTransitions.as_view(),
        name="application-transitions",
    ),
    path(
        "applications/<int:pk>/checklist/<int:item_id>/",
        api.ChecklistItemDetail.as_view(),
        name="application-checklist-item",
    ),
    path("applications/<int:pk>/memo/", api.ApplicationMemo.as_view(), name="application-memo"),
    path(
        "applications/<int:pk>/memo/complete/",
        api.ApplicationMemoComplete.as_view(),
        name="application-memo-complete",
    ),
    path("financial-statements/", api.StatementList.as_view(), name="financial-statement-list"),
    path("financial-statements/<int:pk>/", api.StatementDetail.as_view(), name="financial-statement-detail"),
    path("offers/", api.OfferList.as_view(), name="offer-list"),
    path("offers/<int:pk>/", api.OfferDetail.as_view(), name="offer-detail"),
    path("offers/<int:pk>/accept/", api.OfferAccept.as_view(), name="offer-accept"),
    path("offers/<int:pk>/withdraw/", api.OfferWithdraw.as_view(), name="offer-withdraw"),
]

# Credit decisions and delegated authority (authority_api).
urlpatterns += [
    path(
        "applications/<int:pk>/decisions/",
        authority_api.ApplicationDecisions.as_view(),
        name="application-decisions",
    ),
    path(
        "applications/<int:pk>/exposure/",
        authority_api.ApplicationExposure.as_view(),
        name="application-exposure",
    ),
    path(
        "applications/<int:pk>/conditions/<int:condition_id>/",
        authority_api.ConditionDetail.as_view(),
        name="application-condition",
    ),
    path("authority-levels/", authority_api.AuthorityLevels.as_view(), name="authority-levels"),
]
