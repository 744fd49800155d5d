from django.core.exceptions import ValidationError


class ActionError(ValidationError):
    """A business rule refused the action. Carries field errors like a form's ValidationError."""
