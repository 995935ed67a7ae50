"""lendcrm: the CRM for project finance and corporate lending."""

__version__ = "0.1.0"
