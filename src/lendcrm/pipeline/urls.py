"""Pipeline endpoints under /api/v1/."""

from django.urls import path

from lendcrm.pipeline import api

urlpatterns = [
    path("products/", api.ProductList.as_view(), name="product-list"),
    path("leads/", api.LeadList.as_view(), name="lead-list"),
    path("leads/<int:pk>/", api.LeadDetail.as_view(), name="lead-detail"),
    path("leads/<int:pk>/qualify/", api.LeadQualify.as_view(), name="lead-qualify"),
    path("leads/<int:pk>/disqualify/", api.LeadDisqualify.as_view(), name="lead-disqualify"),
    path("opportunities/", api.OpportunityList.as_view(), name="opportunity-list"),
    path("opportunities/funnel/", api.OpportunityFunnel.as_view(), name="opportunity-funnel"),
    path(
        "opportunities/time-in-stage/", api.OpportunityTimeInStage.as_view(), name="opportunity-time-in-stage"
    ),
    path("opportunities/<int:pk>/", api.OpportunityDetail.as_view(), name="opportunity-detail"),
    path("opportunities/<int:pk>/stage/", api.OpportunityStage.as_view(), name="opportunity-stage"),
    path("proposals/", api.ProposalList.as_view(), name="proposal-list"),
    path("proposals/<int:pk>/", api.ProposalDetail.as_view(), name="proposal-detail"),
    path("proposals/<int:pk>/issue/", api.ProposalIssue.as_view(), name="proposal-issue"),
    path("proposals/<int:pk>/accept/", api.ProposalAccept.as_view(), name="proposal-accept"),
    path("proposals/<int:pk>/reject/", api.ProposalReject.as_view(), name="proposal-reject"),
]
