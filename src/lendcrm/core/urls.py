from django.urls import path

from lendcrm.core import org_api

urlpatterns = [
    path("branches/", org_api.BranchList.as_view(), name="branch-list"),
    path("branches/<int:pk>/", org_api.BranchDetail.as_view(), name="branch-detail"),
    path("users/", org_api.UserList.as_view(), name="user-list"),
    path("users/<int:pk>/", org_api.UserDetail.as_view(), name="user-detail"),
    path("me/", org_api.Me.as_view(), name="me"),
]
