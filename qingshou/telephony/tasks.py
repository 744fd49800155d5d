"""Background tasks of the telephony app. The dialer is called outside any transaction; results are
recorded by actions. Idempotent: a call no longer QUEUED is not originated again, a stored recording
is not fetched again."""

from __future__ import annotations

import random

from django.conf import settings

from qingshou.core.tasks import retrying_task


class DialerRetry(Exception):
    """A retryable dialer error: the task fails and retrying_task schedules the next attempt."""


@retrying_task
def originate_call(call_pk: int) -> str:
    from qingshou.telephony.actions import do_record_originate
    from qingshou.telephony.gateways import Originate, PermanentError, RetryableError, get_backend
    from qingshou.telephony.models import Call

    call = Call.objects.select_related("contact__phone").filter(pk=call_pk).first()
    if call is None or call.state != Call.State.QUEUED:
        return "skipped"
    backend = get_backend()
    request = Originate(call_id=call.call_id, mode="robot" if call.campaign_id else "agent",
                        extension=call.extension, number=call.contact.phone.number,
                        callback_url=callback_url(), script=call.script)
    try:
        gateway_call_id = backend.originate(request)
    except PermanentError as exc:
        do_record_originate(call.pk, error=exc.code, final=True)
        return "failed"
    except RetryableError as exc:
        final = call.attempts + 1 >= settings.TASK_MAX_ATTEMPTS
        do_record_originate(call.pk, error=exc.code, final=final)
        if final:
            return "failed"
        raise DialerRetry(exc.code) from exc
    do_record_originate(call.pk, gateway_call_id=gateway_call_id)
    return "ringing"


def callback_url() -> str:
    from django.urls import reverse

    base = settings.TELEPHONY_CALLBACK_BASE_URL.rstrip("/")
    return base + reverse("telephony_hooks:result")


@retrying_task
def fetch_call_recording(call_pk: int) -> str:
    from qingshou.telephony.actions import do_flag_missing_recording, do_store_recording
    from qingshou.telephony.gateways import PermanentError, RetryableError, fetch_recording
    from qingshou.telephony.models import Call, Recording

    call = Call.objects.filter(pk=call_pk).first()
    if call is None or not call.recording_url:
        return "skipped"
    if Recording.objects.filter(contact_id=call.contact_id).exists():
        return "exists"
    try:
        data, content_type = fetch_recording(call.recording_url, max_bytes=settings.RECORDING_MAX_BYTES,
                                             timeout=settings.TELEPHONY_TIMEOUT_SECONDS)
    except PermanentError as exc:
        do_flag_missing_recording(call.contact_id, reason=f"fetch failed: {exc.code}")
        return "missing"
    except RetryableError as exc:
        attempts = Call.objects.filter(pk=call.pk).values_list("fetch_attempts", flat=True).first() + 1
        Call.objects.filter(pk=call.pk).update(fetch_attempts=attempts)
        if attempts >= settings.TASK_MAX_ATTEMPTS:
            do_flag_missing_recording(call.contact_id, reason=f"fetch failed: {exc.code}")
            return "missing"
        raise DialerRetry(exc.code) from exc
    do_store_recording(call.contact_id, data, content_type=content_type, source=call.recording_url)
    return "stored"


@retrying_task(max_attempts=1)
def console_complete_call(call_id: str) -> str:
    """The console backend's fake dialer: a plausible result and a synthetic WAV recording."""
    from qingshou.telephony.actions import do_complete_call
    from qingshou.telephony.gateways import sine_wav

    rng = random.Random(call_id)   # noqa: S311  (fake data)
    duration = rng.randint(15, 90)
    call = do_complete_call(call_id, duration=duration, hangup_cause="NORMAL_CLEARING",
                            recording=sine_wav(seconds=2.0, freq=rng.choice([392.0, 440.0, 523.0])),
                            recording_type="audio/wav")
    return "completed" if call is not None else "unknown"


@retrying_task
def run_campaign(campaign_pk: int) -> str:
    """Place a voice campaign's calls, one chunk (one transaction) at a time; resumable after a crash."""
    from qingshou.telephony.actions import do_campaign_chunk

    while do_campaign_chunk(campaign_pk):
        pass
    return "done"
