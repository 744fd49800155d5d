"""Reading, validating and sealing (encrypting) rows in a second process while the importing process writes.

``validated_chunks(table, validator)`` yields chunks ``[(rownum, record or None, errors), ...]`` in file
order. For a file of more than ``settings.INTAKE_WORKER_MIN_ROWS`` rows (and where ``fork`` exists) the work is
done by a forked child process that never touches the database: it reads the file, validates each row,
encrypts and hashes the ID number and phone numbers of good rows (AES-GCM with a fresh random nonce per value,
exactly as the field would) and sends chunks through a bounded queue, so at most a few chunks are in memory.
The importing process meanwhile allocates ids and COPYs; the two cores both work. Smaller files, and
platforms without fork, run the same steps inline.

The child stops by itself when its parent is gone (a killed import leaves no orphan) and the parent
terminates the child when it stops consuming early (an exception).
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_mod
from base64 import urlsafe_b64encode as b64

from django.conf import settings

from qingshou.core import crypto

CHUNK_ROWS = 1000
QUEUE_CHUNKS = 8
PUT_TIMEOUT = 1.0


def seal(rec) -> None:
    """Ciphertext and lookup hash of the record's ID number and phone numbers, computed ahead.

    The stored form is exactly ``crypto.encrypt``'s (key id, then base64url of nonce | ciphertext | tag) with a
    fresh 12-byte random nonce per value; the nonces of one record come from one ``os.urandom`` call (the same
    CSPRNG, fewer system calls)."""
    values = []
    for v in (rec.id_number, rec.mobile, rec.work_phone, *(c.phone for c in rec.contacts)):
        if v and v not in values:
            values.append(v)
    key = crypto.keyring().current
    aead, prefix, hexdigest = key.aead.encrypt, key.prefix, crypto.keyring().hashers[0].hexdigest
    nonces = os.urandom(crypto.NONCE_BYTES * len(values))
    sealed = {}
    for i, v in enumerate(values):
        nonce = nonces[i * crypto.NONCE_BYTES:(i + 1) * crypto.NONCE_BYTES]
        blob = nonce + aead(nonce, v.encode(), None)
        sealed[v] = (prefix + b64(blob).rstrip(b"=").decode("ascii"), hexdigest(v))
    rec.sealed = sealed


def _chunks(table, validator, *, sealing: bool):
    chunk = []
    validate = validator.validate
    for rownum, cells in table.rows():
        rec, errs = validate(rownum, cells)
        if rec is not None and sealing:
            seal(rec)
        chunk.append((rownum, rec, errs))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _child(table, validator, q, parent_pid):
    def put(item):
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)  # the importing process is gone: so is its transaction
            try:
                q.put(item, timeout=PUT_TIMEOUT)
                return
            except queue_mod.Full:
                continue

    try:
        for item in _chunks(table, validator, sealing=True):
            put(("chunk", item))
        put(("done", None))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        try:
            put(("error", exc))
        except Exception:  # noqa: BLE001 - an unpicklable exception: send its text
            put(("error", RuntimeError(str(exc))))
    finally:
        q.close()
        q.join_thread()


def use_worker(table) -> bool:
    minimum = getattr(settings, "INTAKE_WORKER_MIN_ROWS", 20_000)
    return (minimum is not None and table.row_estimate >= minimum
            and "fork" in multiprocessing.get_all_start_methods())


def validated_chunks(table, validator):
    if not use_worker(table):
        yield from _chunks(table, validator, sealing=False)
        return
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue(maxsize=QUEUE_CHUNKS)
    proc = ctx.Process(target=_child, args=(table, validator, q, os.getpid()), daemon=True,
                       name="qingshou-intake-reader")
    proc.start()
    finished = False
    try:
        while True:
            try:
                kind, payload = q.get(timeout=5)
            except queue_mod.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"the intake reader process died (exit code {proc.exitcode})") from None
                continue
            if kind == "chunk":
                yield payload
            elif kind == "error":
                raise payload
            else:
                finished = True
                return
    finally:
        if not finished and proc.is_alive():
            proc.terminate()
        proc.join(timeout=10)
        q.close()
