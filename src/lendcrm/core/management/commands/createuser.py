"""`lendcrm createuser USERNAME --role R [--role R2] [--branch CODE] [--password P]`."""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lendcrm.core import errors, services
from lendcrm.core.models import Branch
from lendcrm.core.roles import Role


def describe(exc: errors.DomainError) -> str:
    """A refusal from a service as one readable line for the terminal."""
    details = [f"{field}: {' '.join(messages)}" for field, messages in exc.field_errors.items()]
    return " ".join([exc.detail, *(d for d in details if exc.detail not in d)])


class Command(BaseCommand):
    help = (
        "Create a member of staff. Roles: "
        + ", ".join(Role.values)
        + ". The password comes from --password or "
        "the LENDCRM_PASSWORD environment variable (safer: it stays out of the process list); without either "
        "the account can only use API tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", action="append", required=True, help="a role slug; repeat for several")
        parser.add_argument("--branch", help="code of the branch the user works at, e.g. SH01")
        parser.add_argument("--password", help="prefer the LENDCRM_PASSWORD environment variable")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        branch = None
        if options["branch"]:
            code = options["branch"].strip().upper()
            branch = Branch.objects.filter(code=code).first()
            if branch is None:
                known = ", ".join(Branch.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"Unknown branch {code}. Known branches: {known}.")
        password = options["password"] or os.environ.get("LENDCRM_PASSWORD") or None
        try:
            user = services.create_user(
                actor=None,
                username=options["username"],
                roles=options["role"],
                branch=branch,
                password=password,
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
            )
        except errors.DomainError as exc:
            raise CommandError(describe(exc)) from exc
        where = f" at {branch.code}" if branch else ""
        self.stdout.write(f"Created user {user.username} ({', '.join(options['role'])}){where}.")
        if not password:
            self.stdout.write(
                "No password given: the account is token-only. Issue one with: lendcrm token create "
                + user.username
            )
