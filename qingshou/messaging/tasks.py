"""Background tasks of the messaging app. Each calls an action; the gateway call happens outside any
transaction, and the result is recorded by an action. Idempotent: a message not "queued" is skipped."""

from __future__ import annotations

from django.conf import settings

from qingshou.core.tasks import retrying_task


class SmsRetry(Exception):
    """A retryable gateway error: the task fails and retrying_task schedules the next attempt."""


@retrying_task
def deliver_sms(message_id: int) -> str:
    from qingshou.messaging.actions import do_record_send_result
    from qingshou.messaging.gateways import OutgoingSms, PermanentError, RetryableError, get_backend
    from qingshou.messaging.models import SmsMessage, SmsStatus

    message = (SmsMessage.objects.select_related("phone", "template_version__template__creditor")
               .filter(pk=message_id).first())
    if message is None or message.status != SmsStatus.QUEUED:
        return "skipped"
    backend = get_backend()
    version = message.template_version
    template = version.template if version else None
    sms = OutgoingSms(
        out_id=f"qs-{message.pk}", phone=message.phone.number,
        template_id=f"{template.creditor.code}.{template.code}.v{version.number}" if template else "",
        params=message.params or {}, content=message.body, sign_name=settings.SMS_SIGN_NAME,
    )
    try:
        gateway_id = backend.send(sms)
    except PermanentError as exc:
        do_record_send_result(message.pk, error=exc.code, permanent=True, backend=backend.name)
        return "failed"
    except RetryableError as exc:
        final = message.attempts + 1 >= settings.TASK_MAX_ATTEMPTS
        do_record_send_result(message.pk, error=exc.code, final=final, backend=backend.name)
        if final:
            return "failed"
        raise SmsRetry(exc.code) from exc
    do_record_send_result(message.pk, gateway_id=gateway_id, backend=backend.name)
    return "sent"


@retrying_task(max_attempts=3)
def run_sms_batch(batch_id: int) -> dict:
    from qingshou.messaging.actions import run_batch

    return run_batch(batch_id)
