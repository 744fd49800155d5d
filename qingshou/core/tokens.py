"""Per-user API tokens: creation, revocation and authentication.

Token format: ``qs_<prefix>_<secret>``, e.g. ``qs_k3v9x2ab_Zp0…`` where the prefix is 8 characters of
[a-z0-9] (stored, shown in lists so people can tell their tokens apart) and the secret is 43 URL-safe
characters (256 bits). Only the SHA-256 hex digest of the whole token is stored; the token is shown
once, when it is created. Clients send ``Authorization: Bearer <token>``.

Lookup is by digest (a unique index): an attacker cannot steer the digest's bytes, so the database
comparison leaks nothing useful; the prefix is then compared in constant time as a second check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.models import ApiToken
from qingshou.org.models import Role

TOKEN_TAG = "qs"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
LAST_USED_GRANULARITY = timedelta(minutes=1)
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_TOKEN_RE = re.compile(rf"^{TOKEN_TAG}_([a-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{40,64}})$")


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_token() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return prefix, f"{TOKEN_TAG}_{prefix}_{secret}"


def display_prefix(token: ApiToken) -> str:
    """How a stored token is shown in lists: ``qs_k3v9x2ab_…``."""
    return f"{TOKEN_TAG}_{token.prefix}_…"


def _may_manage(acting_user, owner) -> bool:
    """A user manages their own tokens; an administrator anyone's. None = the operator's command line."""
    if acting_user is None:
        return True
    if not getattr(acting_user, "is_authenticated", False) or not acting_user.is_active:
        return False
    return acting_user.pk == owner.pk or acting_user.is_superuser or acting_user.role == Role.ADMIN


@transaction.atomic(durable=True)
def create_api_token(user, name: str, *, acting_user) -> tuple[ApiToken, str]:
    """Create a token for `user`. Returns the row and the full token, which is never retrievable again."""
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the token a name, e.g. the system that will use it.")
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = _("The name can be at most %(max)s characters.") % {"max": NAME_MAX_LENGTH}
    elif "\x00" in name:
        errors["name"] = _("The name contains characters that are not allowed.")
    if not user.is_active:
        errors["user"] = _("This user is inactive.")
    if not _may_manage(acting_user, user):
        errors["user"] = _("You may only create tokens for yourself.")
    if errors:
        raise ActionError(errors)
    prefix, raw = _new_token()
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=token_digest(raw))
    audit("token.create", actor=acting_user, obj=token, user=user.pk, name=name, prefix=prefix)
    return token, raw


@transaction.atomic(durable=True)
def revoke_api_token(token: ApiToken, *, acting_user) -> ApiToken:
    """Revoke a token. Revoking a revoked token changes nothing and writes no second audit row."""
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if not _may_manage(acting_user, token.user):
        raise ActionError({"token": _("You may only revoke your own tokens.")})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit("token.revoke", actor=acting_user, obj=token, user=token.user_id, prefix=token.prefix)
    return token


def authenticate_token(raw: str | None):
    """The token's user, or None for a malformed, unknown or revoked token or an inactive user."""
    if not raw or not isinstance(raw, str):
        return None
    raw = raw.strip()
    match = _TOKEN_RE.match(raw)
    if not match:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    if token is None or not hmac.compare_digest(token.prefix, match.group(1)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_GRANULARITY:
        # Conditional UPDATE: at most one write a minute per token, however many requests arrive.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY)
        ).update(last_used_at=now)
    return token.user


def user_tokens(user):
    """The user's tokens, newest first (for the token page)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def get_user_by_username(username: str):
    return get_user_model().objects.filter(username=username).first()
