"""The workspace's pages; each app's views live in that app, this file only names the paths."""

from django.urls import path

from lendcrm.core import views as core_views
from lendcrm.interactions import views as interaction_views
from lendcrm.monitoring import covenant_pages, oversight_pages, portfolio_pages
from lendcrm.origination import decision_views, edit_views, memo_views
from lendcrm.origination import views as origination_views
from lendcrm.parties import views as party_views
from lendcrm.pipeline import proposal_views
from lendcrm.pipeline import views as pipeline_views
from lendcrm.servicing import book_pages, classification_pages, repayment_pages
from lendcrm.web import views

app_name = "ui"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("search/", views.search, name="search"),
    path("parties/", party_views.party_list, name="party-list"),
    path("parties/export.csv", party_views.party_export, name="party-export"),
    path("parties/new/", party_views.party_create, name="party-create"),
    path("parties/<int:pk>/", party_views.party_360, name="party-360"),
    path("parties/<int:pk>/edit/", party_views.party_edit, name="party-edit"),
    path("parties/<int:pk>/timeline/", party_views.party_timeline, name="party-timeline"),
    path("parties/<int:pk>/identifiers/new/", party_views.identifier_add, name="identifier-add"),
    path("parties/<int:pk>/contacts/new/", party_views.contact_create, name="contact-create"),
    path("parties/<int:pk>/contacts/<int:contact_pk>/edit/", party_views.contact_edit, name="contact-edit"),
    path("parties/<int:pk>/links/new/", party_views.relationship_create, name="relationship-create"),
    path("parties/<int:pk>/links/pick/", party_views.party_picker, name="party-picker"),
    path(
        "parties/<int:pk>/links/<int:rel_pk>/delete/",
        party_views.relationship_delete,
        name="relationship-delete",
    ),
    path("parties/<int:pk>/interactions/", interaction_views.interaction_create, name="interaction-create"),
    path("parties/<int:pk>/tasks/", interaction_views.task_create, name="task-create"),
    path("tasks/", interaction_views.task_list, name="task-list"),
    path("tasks/<int:pk>/edit/", interaction_views.task_edit, name="task-edit"),
    path("tasks/<int:pk>/complete/", interaction_views.task_complete, name="task-complete"),
    path("tasks/<int:pk>/reassign/", interaction_views.task_reassign, name="task-reassign"),
    path("pipeline/", pipeline_views.opportunity_board, name="opportunity-board"),
    path("pipeline/funnel/", pipeline_views.funnel, name="pipeline-funnel"),
    path("pipeline/pick-party/", pipeline_views.party_picker, name="pipeline-party-picker"),
    path("pipeline/leads/", pipeline_views.lead_list, name="lead-list"),
    path("pipeline/leads/new/", pipeline_views.lead_create, name="lead-create"),
    path("pipeline/leads/<int:pk>/", pipeline_views.lead_detail, name="lead-detail"),
    path("pipeline/leads/<int:pk>/edit/", pipeline_views.lead_edit, name="lead-edit"),
    path("pipeline/leads/<int:pk>/qualify/", pipeline_views.lead_qualify, name="lead-qualify"),
    path("pipeline/leads/<int:pk>/disqualify/", pipeline_views.lead_disqualify, name="lead-disqualify"),
    path("pipeline/opportunities/", pipeline_views.opportunity_list, name="opportunity-list"),
    path("pipeline/opportunities/new/", pipeline_views.opportunity_create, name="opportunity-create"),
    path("pipeline/opportunities/<int:pk>/", pipeline_views.opportunity_detail, name="opportunity-detail"),
    path("pipeline/opportunities/<int:pk>/edit/", pipeline_views.opportunity_edit, name="opportunity-edit"),
    path("pipeline/opportunities/<int:pk>/move/", pipeline_views.opportunity_move, name="opportunity-move"),
    path(
        "pipeline/opportunities/<int:pk>/proposals/new/",
        proposal_views.proposal_create,
        name="proposal-create",
    ),
    path("pipeline/proposals/<int:pk>/", proposal_views.proposal_detail, name="proposal-detail"),
    path("pipeline/proposals/<int:pk>/edit/", proposal_views.proposal_edit, name="proposal-edit"),
    path("pipeline/proposals/<int:pk>/issue/", proposal_views.proposal_issue, name="proposal-issue"),
    path("pipeline/proposals/<int:pk>/accept/", proposal_views.proposal_accept, name="proposal-accept"),
    path("pipeline/proposals/<int:pk>/reject/", proposal_views.proposal_reject, name="proposal-reject"),
    path(
        "pipeline/proposals/<int:pk>/term-sheet/",
        proposal_views.proposal_termsheet,
        name="proposal-termsheet",
    ),
    path(
        "pipeline/proposals/<int:pk>/term-sheet.pdf",
        proposal_views.proposal_termsheet_pdf,
        name="proposal-termsheet-pdf",
    ),
    path("applications/", origination_views.application_list, name="application-list"),
    path("applications/new/", origination_views.application_create, name="application-create"),
    path("applications/pick-party/", origination_views.application_party_picker, name="application-picker"),
    path("applications/<int:pk>/", origination_views.application_detail, name="application-detail"),
    path("applications/<int:pk>/edit/", edit_views.application_edit, name="application-edit"),
    path("applications/<int:pk>/move/", origination_views.application_transition, name="application-move"),
    path(
        "applications/<int:pk>/checklist/", origination_views.checklist_update, name="application-checklist"
    ),
    path("applications/<int:pk>/decide/", decision_views.application_decide, name="application-decide"),
    path("applications/<int:pk>/vote/", decision_views.application_vote, name="application-vote"),
    path("applications/<int:pk>/conditions/", decision_views.condition_resolve, name="application-condition"),
    path("applications/<int:pk>/offers/new/", decision_views.offer_issue, name="offer-issue"),
    path("applications/<int:pk>/memo/", memo_views.memo_page, name="memo"),
    path("applications/<int:pk>/memo/statements/", memo_views.statement_save, name="memo-statement"),
    path("applications/<int:pk>/memo/complete/", memo_views.memo_complete, name="memo-complete"),
    path("applications/<int:pk>/memo/revisions/", memo_views.memo_revisions, name="memo-revisions"),
    path("offers/<int:pk>/", decision_views.offer_detail, name="offer-detail"),
    path("offers/<int:pk>/accept/", decision_views.offer_accept, name="offer-accept"),
    path("offers/<int:pk>/withdraw/", decision_views.offer_withdraw, name="offer-withdraw"),
    path("decisions/", decision_views.decision_queue, name="decision-queue"),
    path("audit/", core_views.audit_log, name="audit"),
    path("audit/verify/", core_views.audit_verify, name="audit-verify"),
]
# Post-loan pages: each area's module lists its own paths.
for _area in (
    book_pages,
    repayment_pages,
    classification_pages,
    covenant_pages,
    oversight_pages,
    portfolio_pages,
):
    urlpatterns += _area.urlpatterns
