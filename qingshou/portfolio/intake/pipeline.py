"""Reading, validating and sealing (encrypting) rows in a second process while the importing process writes.

``validated_chunks(table, packer)`` yields chunks ``[(rownum, (packed, sealed, event) or None, errors), ...]``
in file order (see ``Packer``: the record as a plain tuple of its stored text, the ciphertexts and hashes of
its ID number and phones, the JSON of its ``placed`` event). For a file of more than
``settings.INTAKE_WORKER_MIN_ROWS`` rows (and where ``fork`` exists) the work is done by a forked child process
that never touches the database: it reads the file, validates each row, encrypts and hashes the ID number and
phone numbers of good rows (AES-GCM with a fresh random nonce per value, exactly as the field would) and sends
chunks through a bounded queue (about one write batch ahead), so memory stays bounded. The importing process
meanwhile allocates ids and builds the rows, and a thread of it writes the previous batch: the file, this
process and the database all work at once. Smaller files, and platforms without fork, run the same steps
inline. Both processes run with the cyclic garbage collector paused (``gc_paused``).

The child stops by itself when its parent is gone (a killed import leaves no orphan) and the parent
terminates the child when it stops consuming early (an exception).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import queue as queue_mod
from base64 import urlsafe_b64encode as b64
from binascii import b2a_base64 as b2a
from contextlib import contextmanager

from django.conf import settings

from qingshou.core import crypto
from qingshou.portfolio.intake.validation import (
    P_CONTACTS,
    P_ID_NUMBER,
    P_LAST_AMOUNT,
    P_LAST_DATE,
    P_MOBILE,
    P_TOTAL,
    P_WORK_PHONE,
)

CHUNK_ROWS = 1000
QUEUE_CHUNKS = 8
PUT_TIMEOUT = 1.0
_URLSAFE = bytes.maketrans(b"+/", b"-_")


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


class Packer:
    """Validates one row into what the loader writes: ``(rownum, (packed, sealed, event) or None, errors)``.

    ``packed``: the record in its packed form (``validation.P_*``). ``sealed`` (when sealing): the stored form
    and lookup hash of the ID number, the mobile, the work phone and each contact's phone, in that order (None
    for an empty value), each value with its own fresh random nonce. ``event``: the JSON text of the case's
    ``placed`` event, as ``json.dumps`` writes it (the same keys as portfolio.events.case_placed)."""

    def __init__(self, validator, *, sealing: bool, placement_code: str = "", import_id=None):
        self.validate = validator.validate_packed
        self.sealing = sealing
        self.head = '{"placement": ' + json.dumps(placement_code) + ', "total_due": "'
        self.import_id = '", "import_id": ' + json.dumps(import_id)

    def __call__(self, rownum, cells):
        p, errors = self.validate(rownum, cells)
        if p is None:
            return rownum, None, errors
        event = self.head + p[P_TOTAL] + self.import_id
        if p[P_LAST_DATE]:
            event += ', "last_payment_date": "' + p[P_LAST_DATE] + '"'
        if p[P_LAST_AMOUNT] is not None:
            event += ', "last_payment_amount": "' + p[P_LAST_AMOUNT] + '"'
        return rownum, (p, seal_packed(p) if self.sealing else None, event + "}"), errors


def seal_packed(p) -> tuple:
    """The (stored form, lookup hash) of the packed record's ID number, mobile, work phone and contact phones."""
    values = (p[P_ID_NUMBER], p[P_MOBILE], p[P_WORK_PHONE], *[c[2] for c in p[P_CONTACTS]])
    ring = crypto.keyring()
    key = ring.current
    aead, prefix, hexdigest = key.aead.encrypt, key.prefix, ring.hashers[0].hexdigest
    n = crypto.NONCE_BYTES
    nonces = os.urandom(n * len(values))
    out = []
    for i, v in enumerate(values):
        if v:
            nonce = nonces[i * n:(i + 1) * n]
            blob = nonce + aead(nonce, v.encode(), None)
            out.append((prefix + b2a(blob, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii"),
                        hexdigest(v)))
        else:
            out.append(None)
    return tuple(out)


def _chunks(table, packer):
    chunk = []
    append = chunk.append
    for rownum, cells in table.rows():
        append(packer(rownum, cells))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
            append = chunk.append
    if chunk:
        yield chunk


def _child(table, packer, q, parent_pid):
    def put(item):
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)  # the importing process is gone: so is its transaction
            try:
                q.put(item, timeout=PUT_TIMEOUT)
                return
            except queue_mod.Full:
                continue

    gc.disable()  # see gc_paused(); this process only reads, validates and exits
    try:
        for item in _chunks(table, packer):
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


@contextmanager
def gc_paused():
    """The cyclic garbage collector off while a file is loaded. A load builds millions of tuples, many kept to
    the end (the keys that spot duplicate parties and phones), so the collector's passes over them cost more
    than a third of the import's CPU; what a load throws away is freed by reference counting, and the few
    cycles are collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def use_worker(table) -> bool:
    minimum = getattr(settings, "INTAKE_WORKER_MIN_ROWS", 20_000)
    return (minimum is not None and table.row_estimate >= minimum
            and "fork" in multiprocessing.get_all_start_methods())


def validated_chunks(table, packer, *, ahead_rows: int = 0):
    """The chunks of the file in order (see the module's docstring). ``ahead_rows``: how far the reader process
    may run ahead of the consumer (at least ``QUEUE_CHUNKS`` chunks): a loader that writes batches of that
    many rows gets the next batch while it waits for the database."""
    if not use_worker(table):
        yield from _chunks(table, packer)
        return
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue(maxsize=max(QUEUE_CHUNKS, ahead_rows // CHUNK_ROWS + 2))
    proc = ctx.Process(target=_child, args=(table, packer, q, os.getpid()), daemon=True,
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
