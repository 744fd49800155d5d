"""qingshou create_api_token USERNAME --name NAME: create an API token and print it once."""

from django.core.management.base import BaseCommand, CommandError

from qingshou.core.errors import ActionError
from qingshou.core.tokens import create_api_token, get_user_by_username


class Command(BaseCommand):
    help = "Create an API token for a user and print it. The token is shown only this once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. the dialer's name.")

    def handle(self, *args, username, name, **options):
        user = get_user_by_username(username)
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            token, raw = create_api_token(user, name, acting_user=None)
        except ActionError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stderr.write(
            f"Created token {token.name!r} for {user.username} (id {token.pk}). "
            "Store it now: it cannot be shown again."
        )
        self.stdout.write(raw)
