"""Every write to the loan book; each area's module holds its own services (booking, drawdowns, repayments,
delinquency, classification, restructuring). Booking and drawdowns are named here."""

from lendcrm.servicing.services.booking import book_application
from lendcrm.servicing.services.drawdowns import draw, new_schedule_version, rebuild_terms

__all__ = ["book_application", "draw", "new_schedule_version", "rebuild_terms"]
