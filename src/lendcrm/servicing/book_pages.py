"""The workspace paths of the loan book (namespace "ui"): the list, a facility, a drawdown, booking."""

from django.urls import path

from lendcrm.servicing import views

urlpatterns = [
    path("facilities/", views.facility_list, name="facility-list"),
    path("facilities/<int:pk>/", views.facility_detail, name="facility-detail"),
    path("facilities/<int:pk>/drawdowns/new/", views.facility_draw, name="facility-draw"),
    path("applications/<int:pk>/book/", views.application_book, name="application-book"),
]
