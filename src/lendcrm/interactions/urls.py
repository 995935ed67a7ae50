from django.urls import path

from lendcrm.interactions import api

urlpatterns = [
    path("interactions/", api.InteractionList.as_view(), name="interaction-list"),
    path("interactions/batch/", api.InteractionBatch.as_view(), name="interaction-batch"),
    path("interactions/<int:pk>/", api.InteractionDetail.as_view(), name="interaction-detail"),
    path("tasks/", api.TaskList.as_view(), name="task-list"),
    path("tasks/<int:pk>/", api.TaskDetail.as_view(), name="task-detail"),
    path("tasks/<int:pk>/complete/", api.TaskComplete.as_view(), name="task-complete"),
    path("tasks/<int:pk>/reassign/", api.TaskReassign.as_view(), name="task-reassign"),
    path("parties/<int:pk>/timeline/", api.PartyTimeline.as_view(), name="party-timeline"),
]
