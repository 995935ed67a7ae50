"""Staff roles and what each may read; the one place that says who sees which parties."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RELATIONSHIP_MANAGER = "relationship_manager", _("Relationship manager")
    CREDIT_ANALYST = "credit_analyst", _("Credit analyst")
    CREDIT_APPROVER = "credit_approver", _("Credit approver")
    COMMITTEE_MEMBER = "committee_member", _("Committee member")
    PORTFOLIO_MONITOR = "portfolio_monitor", _("Portfolio monitor")
    LOAN_OPERATIONS = "loan_operations", _("Loan operations")
    SERVICE_AGENT = "service_agent", _("Service agent")
    COMPLIANCE_OFFICER = "compliance_officer", _("Compliance officer")
    ADMINISTRATOR = "administrator", _("Administrator")


# Credit, monitoring and compliance work across the whole book.
PORTFOLIO_WIDE_ROLES = frozenset(
    {
        Role.CREDIT_ANALYST,
        Role.CREDIT_APPROVER,
        Role.COMMITTEE_MEMBER,
        Role.PORTFOLIO_MONITOR,
        Role.LOAN_OPERATIONS,
        Role.COMPLIANCE_OFFICER,
    }
)
# Front-office roles see the parties they cover or that are booked at their branch.
COVERAGE_ROLES = frozenset({Role.RELATIONSHIP_MANAGER, Role.SERVICE_AGENT})
# Roles that may create and change customer data (the administrator manages users, not customers).
CUSTOMER_WRITE_ROLES = frozenset({Role.RELATIONSHIP_MANAGER, Role.CREDIT_ANALYST, Role.SERVICE_AGENT})
# Loan operations books facilities, pays out drawdowns and posts repayments.
BOOKING_ROLES = frozenset({Role.LOAN_OPERATIONS})
# Post-loan work: statements, covenants, projects, reviews, signals, watchlist, classification proposals.
MONITORING_ROLES = frozenset({Role.PORTFOLIO_MONITOR})
# Who may approve a monitoring change (classification, waiver, restructuring, leaving the watchlist) made
# by someone else: the four-eyes second pair.
OVERSIGHT_APPROVER_ROLES = frozenset({Role.PORTFOLIO_MONITOR, Role.CREDIT_APPROVER})
