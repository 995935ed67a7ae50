"""Customer-master endpoints under /api/v1/."""

from django.urls import path

from lendcrm.parties import api

urlpatterns = [
    path("parties/", api.PartyList.as_view(), name="party-list"),
    path("parties/<int:pk>/", api.PartyDetail.as_view(), name="party-detail"),
    path("parties/<int:pk>/identifiers/", api.PartyIdentifiers.as_view(), name="party-identifiers"),
    path(
        "parties/<int:pk>/identifiers/<int:identifier_id>/",
        api.PartyIdentifierDetail.as_view(),
        name="party-identifier-detail",
    ),
    path("parties/<int:pk>/coverage/", api.PartyCoverage.as_view(), name="party-coverage"),
    path("parties/<int:pk>/group/", api.PartyGroup.as_view(), name="party-group"),
    path("parties/<int:pk>/360/", api.Party360.as_view(), name="party-360"),
    path("contacts/", api.ContactList.as_view(), name="contact-list"),
    path("contacts/<int:pk>/", api.ContactDetail.as_view(), name="contact-detail"),
    path("contacts/<int:pk>/roles/", api.ContactRoles.as_view(), name="contact-roles"),
    path("contacts/<int:pk>/points/", api.ContactPoints.as_view(), name="contact-points"),
    path("relationships/", api.RelationshipList.as_view(), name="relationship-list"),
    path("relationships/<int:pk>/", api.RelationshipDetail.as_view(), name="relationship-detail"),
]
