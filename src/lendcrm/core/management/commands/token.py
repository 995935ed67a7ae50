"""`lendcrm token create USERNAME` (the key last, shown once), `token revoke PREFIX`, `token list USER`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lendcrm.core import errors, services
from lendcrm.core.management.commands.createuser import describe
from lendcrm.core.models import ApiToken, User


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username}.")
    return user


class Command(BaseCommand):
    help = "Manage personal API tokens. Keys are shown once, when created; only their digests are stored."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,revoke,list}")
        create = actions.add_parser("create", help="issue a token; its key is the last line printed")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for, e.g. 'partner sync'")
        revoke = actions.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")
        listing = actions.add_parser("list", help="a user's tokens (prefixes only)")
        listing.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        user = _user(options["username"])
        try:
            token, key = services.create_token(actor=None, user=user, name=options["name"])
        except errors.DomainError as exc:
            raise CommandError(describe(exc)) from exc
        self.stdout.write(
            f"Token {token.prefix} created for {user.username}. Copy the key now; it is not shown again:"
        )
        self.stdout.write(key)

    def _revoke(self, options: dict[str, Any]) -> None:
        prefix = options["prefix"].removeprefix("lc_").split("_")[0]
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token with prefix {prefix}.")
        if token.revoked_at is not None:
            self.stdout.write(f"Token {prefix} was already revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC.")
            return
        services.revoke_token(actor=None, token=token)
        self.stdout.write(f"Token {prefix} revoked.")

    def _list(self, options: dict[str, Any]) -> None:
        user = _user(options["username"])
        tokens = list(ApiToken.objects.filter(user=user).order_by("created_at", "id"))
        if not tokens:
            self.stdout.write(f"{user.username} has no API tokens.")
            return
        self.stdout.write(f"{'prefix':<10} {'created (UTC)':<17} {'last used':<17} {'status':<8} name")
        for t in tokens:
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            status = "revoked" if t.revoked_at else "active"
            self.stdout.write(f"{t.prefix:<10} {t.created_at:%Y-%m-%d %H:%M} {used:<17} {status:<8} {t.name}")
