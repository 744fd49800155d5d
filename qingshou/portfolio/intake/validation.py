"""Per-row validation of a placement file: every error of a row is collected, not only the first.

``RowValidator(headers, mapping, options).validate(rownum, cells)`` returns ``(record, errors)``: a clean
``Record`` when the row has no error (else None) and the list of ``RowError``. Duplicate accounts are
detected across the rows the validator has seen (one validator per file).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from qingshou.core import idnumbers
from qingshou.core.masking import mask_id_number, mask_name, mask_phone
from qingshou.portfolio.intake.profiles import FIELDS, MAX_CONTACTS
from qingshou.portfolio.models import Bucket, Relation, bucket_for_dpd

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")
MAX_DPD = 36500
DEFAULT_TOLERANCE = Decimal("0.01")
MONEY_PARTS = ("principal", "interest", "late_fees", "other_fees")
MAX_LEN = {"name": 100, "account_number": 40, "product": 60, "home_address": 300, "hukou_address": 300,
           "work_address": 300, "employer": 200}


class Reason:
    """A translatable reason with its parameters; rendered in any language when the report is written."""

    __slots__ = ("msg", "params")

    def __init__(self, msg, **params):
        self.msg, self.params = msg, params

    def text(self, language: str | None = None) -> str:
        if language:
            with translation.override(language):
                return str(self.msg) % self.params if self.params else str(self.msg)
        return str(self.msg) % self.params if self.params else str(self.msg)

    def __str__(self):
        return self.text()


@dataclass(slots=True)
class RowError:
    row: int
    column: str  # the file's header ("" for the row as a whole)
    value: str  # masked
    code: str
    reason: Reason


@dataclass(slots=True)
class Contact:
    name: str
    relation: str
    phone: str


@dataclass(slots=True)
class Record:
    row: int
    name: str
    id_number: str
    gender: str
    birth_date: date
    account_number: str
    product: str
    dpd: int
    bucket: str
    total_due: Decimal
    principal: Decimal
    interest: Decimal
    late_fees: Decimal
    other_fees: Decimal
    mobile: str = ""
    placed_on: date | None = None
    ends_on: date | None = None
    home_address: str = ""
    hukou_address: str = ""
    employer: str = ""
    work_address: str = ""
    work_phone: str = ""
    last_payment_date: date | None = None
    last_payment_amount: Decimal | None = None
    contacts: list[Contact] = field(default_factory=list)
    # plaintext -> (ciphertext, lookup hash) of the ID number and phones, when sealed ahead (see pipeline.py)
    sealed: dict | None = None


# --- value parsers (each raises ValueError(Reason) on a bad value) ------------------------------------------

_MONEY_JUNK = re.compile(r"[,，\s¥￥元]")


def parse_money(raw: str) -> Decimal:
    # Fast path: plain ASCII digits with at most one point (what nearly every file has) need no clean-up.
    s = raw if raw.isascii() and raw.replace(".", "", 1).isdigit() else _MONEY_JUNK.sub("", raw)
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(Reason(_("Not an amount."))) from None
    if not value.is_finite():
        raise ValueError(Reason(_("Not an amount.")))
    if value < 0:
        raise ValueError(Reason(_("An amount cannot be negative.")))
    if value > MAX_MONEY:
        raise ValueError(Reason(_("The amount is too large.")))
    return value.quantize(CENT)


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DATE8_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


@lru_cache(maxsize=8192)
def parse_date(raw: str) -> date:
    m = _DATE_RE.match(raw) or _DATE8_RE.match(raw)
    if not m:
        raise ValueError(Reason(_("Not a date (use YYYY-MM-DD).")))
    try:
        d = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(Reason(_("Not a date (use YYYY-MM-DD)."))) from None
    if d.year < 1900 or d.year > 2200:
        raise ValueError(Reason(_("The date is out of range.")))
    return d


_INT_RE = re.compile(r"^(\d+)(?:\.0+)?\s*天?$")


def parse_dpd(raw: str) -> int:
    m = _INT_RE.match(raw.replace(",", ""))
    if not m:
        raise ValueError(Reason(_("Days past due must be a whole number of days, 0 or more.")))
    value = int(m[1])
    if value > MAX_DPD:
        raise ValueError(Reason(_("Days past due is implausibly large.")))
    return value


_BUCKET_RE = re.compile(r"^m\s*(\d+)\s*(\+|以上|及以上)?$")


def parse_bucket(raw: str) -> str:
    m = _BUCKET_RE.match(raw.strip().lower())
    if not m:
        raise ValueError(Reason(_("Not a bucket (M0 to M7+).")))
    n = int(m[1])
    return Bucket.M7P if n >= 7 else f"M{n}"


_PHONE_JUNK = re.compile(r"[\s\-()（）.]")
_EXT = re.compile(r"(?:转|ext\.?|x|#)\d{1,6}$", re.IGNORECASE)
_MOBILE = re.compile(r"^1\d{10}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")


def _cn_valid(number: str) -> bool:
    """The reference check: phonenumbers' own parse + is_valid_number (slow: ~50 µs a number)."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, "CN"))
    except phonenumbers.NumberParseException:
        return False


def _build_cn_rules():
    """What phonenumbers' is_valid_number does for a Chinese number written nationally (1… or 0…), taken from
    its metadata at import time: the general pattern, then any number type whose pattern and possible lengths
    fit the national significant number."""
    md = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    types = []
    alternatives = []
    for name in ("mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip",
                 "pager", "uan", "voicemail"):
        desc = getattr(md, name)
        if desc is None or not desc.national_number_pattern:
            continue
        lengths = frozenset(desc.possible_length or ())
        types.append((re.compile(desc.national_number_pattern).fullmatch, lengths))
        length = "(?=(?:{})\\Z)".format("|".join(f".{{{n}}}" for n in sorted(lengths))) if lengths else ""
        alternatives.append(f"{length}(?:{desc.national_number_pattern})")
    general = re.compile(md.general_desc.national_number_pattern).fullmatch
    prefix = re.compile(md.national_prefix_for_parsing).match
    # The same test in one regular expression: the general pattern (as a look-ahead to the end), then any type
    # whose length and pattern fit.
    general_ahead = f"(?=(?:{md.general_desc.national_number_pattern})\\Z)"
    valid = re.compile(f"{general_ahead}(?:{'|'.join(alternatives) or '(?!)'})", re.DOTALL).fullmatch
    return general, types, prefix, md.national_prefix_transform_rule, valid


_CN_GENERAL, _CN_TYPES, _CN_NATIONAL_PREFIX, _CN_PREFIX_TRANSFORM, _CN_VALID_NSN = _build_cn_rules()


def cn_valid_fast(number: str) -> bool:
    """Exactly ``_cn_valid`` for the digit strings ``parse_phone`` checks (``1`` + 10 digits, ``0`` + 9 to 11
    digits), at about a tenth of its cost; anything else (``00…``, the international prefix) goes to
    phonenumbers itself. Agreement is tested on random numbers (tests/test_import_placement.py)."""
    if number.startswith("00") or _CN_PREFIX_TRANSFORM:
        return _cn_valid(number)
    nsn = number
    m = _CN_NATIONAL_PREFIX(number)
    if m:
        # phonenumbers strips the national prefix (or carrier code) unless the number was viable before and
        # the rest is not.
        rest = number[m.end():]
        if not (_CN_GENERAL(number) and not _CN_GENERAL(rest)):
            nsn = rest
            if len(nsn) < 2:
                return _cn_valid(number)
    return _CN_VALID_NSN(nsn) is not None


def _cn_valid_nsn_by_types(nsn: str) -> bool:
    """What ``_CN_VALID_NSN`` does, type by type (kept to test the combined expression against)."""
    if not _CN_GENERAL(nsn):
        return False
    n = len(nsn)
    return any((not lengths or n in lengths) and match(nsn) for match, lengths in _CN_TYPES)


def parse_phone(raw: str) -> str:
    """A mobile (11 digits) or a landline with its area code (digits only, leading 0). Raises ValueError."""
    if raw.isascii() and raw.isdigit():
        s = raw  # nothing to strip (isascii: full-width digits go the long way)
    else:
        s = _EXT.sub("", _PHONE_JUNK.sub("", raw))
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    elif s.startswith("86") and len(s) == 13:
        s = s[2:]
    if _MOBILE.match(s):
        if cn_valid_fast(s):
            return s
        raise ValueError(Reason(_("Not a valid mobile number.")))
    if _LANDLINE.match(s):
        if cn_valid_fast(s):
            return s
        raise ValueError(Reason(_("Not a valid landline number.")))
    if s.isdigit() and 7 <= len(s) <= 8:
        raise ValueError(Reason(_("A landline number needs its area code.")))
    raise ValueError(Reason(_("Not a phone number.")))


RELATION_WORDS: dict[str, str] = {}
for _rel, _words in {
    Relation.SELF: "本人 自己 借款人 持卡人 self",
    Relation.SPOUSE: "配偶 夫妻 丈夫 妻子 老公 老婆 爱人 夫 妻 spouse husband wife",
    Relation.PARENT: "父母 父亲 母亲 爸爸 妈妈 父 母 岳父 岳母 公公 婆婆 parent father mother",
    Relation.CHILD: "子女 儿子 女儿 子 女 儿女 child son daughter",
    Relation.SIBLING: "兄弟姐妹 兄弟 姐妹 哥哥 姐姐 弟弟 妹妹 兄 弟 姐 妹 sibling brother sister",
    Relation.COLLEAGUE: "同事 colleague coworker",
    Relation.FRIEND: "朋友 好友 同学 friend classmate",
    Relation.EMERGENCY: "紧急联系人 emergency",
    Relation.EMPLOYER: "单位 公司 雇主 领导 老板 employer",
    Relation.OTHER: "其他 其它 亲戚 亲属 表哥 表姐 表弟 表妹 堂兄 堂弟 堂姐 堂妹 叔叔 阿姨 舅舅 姑姑 "
                    "邻居 房东 other relative",
}.items():
    for _w in _words.split():
        RELATION_WORDS[_w] = _rel


def parse_relation(raw: str) -> str:
    word = raw.strip().lower()
    rel = RELATION_WORDS.get(word)
    if rel is None:
        raise ValueError(Reason(_("Unknown relation %(word)s."), word=raw[:20]))
    return rel


def mask_value(kind: str, key: str, raw: str) -> str:
    if not raw:
        return ""
    if kind == "id_number":
        return mask_id_number(raw)
    if kind == "phone":
        return mask_phone(raw)
    if key == "name" or key.endswith("_name"):
        return mask_name(raw)
    return raw[:200]


class RowValidator:
    """Validates the rows of one file under one mapping {our_field: their header}."""

    def __init__(self, headers: list[str], mapping: dict[str, str], *, options: dict | None = None,
                 today: date | None = None):
        options = options or {}
        self.headers = headers
        self.mapping = {k: v for k, v in mapping.items() if k in FIELDS and v}
        pos = {h: i for i, h in reversed(list(enumerate(headers)))}
        self.index = {k: pos[h] for k, h in self.mapping.items() if h in pos}
        self.tolerance = Decimal(str(options.get("amount_tolerance", DEFAULT_TOLERANCE)))
        self.today = today or date.today()
        self.seen_accounts: dict[str, int] = {}
        self.has_parts = any(p in self.index for p in MONEY_PARTS)
        self.contact_slots = [n for n in range(1, MAX_CONTACTS + 1)
                              if any(f"contact{n}_{p}" in self.index for p in ("name", "relation", "phone"))]
        self._fast = None

    def validate_packed(self, row: int, cells: list[str]) -> tuple[tuple | None, list[RowError]]:
        """``validate`` with the record in its packed form (``pack_record``), by a fast path for clean rows."""
        fast = self._fast
        if fast is None:
            fast = self._fast = _fast_validator(self)
        try:
            packed = fast(cells)
        except Exception:  # noqa: BLE001 - _Slow, or anything unusual: the thorough path decides and reports
            rec, errors = self.validate(row, cells)
            return (pack_record(rec) if rec is not None else None), errors
        self.seen_accounts[packed[P_ACCOUNT]] = row
        return packed, []

    def _get(self, cells, key) -> str:
        i = self.index.get(key)
        if i is None or i >= len(cells):
            return ""
        return cells[i]

    def validate(self, row: int, cells: list[str]) -> tuple[Record | None, list[RowError]]:
        errors: list[RowError] = []
        n_cells = len(cells)
        values = {k: cells[i] for k, i in self.index.items() if i < n_cells}
        fetch = values.get

        mapping = self.mapping

        def err(key, raw, code, reason):
            spec = FIELDS.get(key)
            errors.append(RowError(row, mapping.get(key, ""), mask_value(spec.kind if spec else "", key, raw),
                                   code, reason))

        def required(key) -> str:
            raw = fetch(key, "")
            if not raw:
                err(key, raw, "required", Reason(_("%(field)s is required."), field=FIELDS[key].label))
            elif key in MAX_LEN and len(raw) > MAX_LEN[key]:
                err(key, raw, "too_long", Reason(_("Longer than %(n)s characters."), n=MAX_LEN[key]))
            return raw

        def parsed(key, parser, code):
            raw = fetch(key, "")
            if not raw:
                return None
            try:
                return parser(raw)
            except ValueError as exc:
                err(key, raw, code, exc.args[0])
                return None

        name = required("name")
        account = required("account_number")
        id_raw = required("id_number")
        info = None
        if id_raw:
            try:
                info = idnumbers.parse(id_raw, today=self.today)
            except idnumbers.InvalidIdNumber as exc:
                err("id_number", id_raw, "id_number", Reason(exc.message))
        total = None
        total_raw = fetch("total_due", "")
        if not total_raw:
            err("total_due", "", "required", Reason(_("%(field)s is required."), field=FIELDS["total_due"].label))
        else:
            total = parsed("total_due", parse_money, "amount")
        parts = {}
        parts_ok = True
        for p in MONEY_PARTS:
            raw = fetch(p, "")
            v = parsed(p, parse_money, "amount") if raw else Decimal("0.00")
            if v is None:
                parts_ok = False
            parts[p] = v
        if total is not None and parts_ok:
            if self.has_parts:
                s = sum(parts.values())
                if abs(s - total) > self.tolerance:
                    err("total_due", total_raw, "total_mismatch",
                        Reason(_("The balance %(total)s is not the sum of its parts %(parts)s."),
                               total=f"{total:.2f}", parts=f"{s:.2f}"))
            else:
                parts["principal"] = total
        dpd = parsed("dpd", parse_dpd, "dpd")
        bucket = parsed("bucket", parse_bucket, "bucket")
        if dpd is None and bucket is None and not fetch("dpd", "") and not fetch("bucket", ""):
            err("dpd", "", "required", Reason(_("Days past due or the bucket is required.")))
        mobile = parsed("mobile", parse_phone, "phone") or ""
        work_phone = parsed("work_phone", parse_phone, "phone") or ""
        placed_on = parsed("placed_on", parse_date, "date")
        ends_on = parsed("ends_on", parse_date, "date")
        if placed_on and ends_on and ends_on < placed_on:
            err("ends_on", fetch("ends_on", ""), "date", Reason(_("The recall date is before the placement date.")))
        last_date = parsed("last_payment_date", parse_date, "date")
        last_amount = parsed("last_payment_amount", parse_money, "amount")
        texts = {}
        for key in ("product", "home_address", "hukou_address", "employer", "work_address"):
            raw = fetch(key, "")
            if len(raw) > MAX_LEN[key]:
                err(key, raw, "too_long", Reason(_("Longer than %(n)s characters."), n=MAX_LEN[key]))
            texts[key] = raw
        contacts = []
        for n in self.contact_slots:
            cname = fetch(f"contact{n}_name", "")
            crel_raw = fetch(f"contact{n}_relation", "")
            cphone_raw = fetch(f"contact{n}_phone", "")
            if not (cname or cphone_raw):
                continue
            rel = parsed(f"contact{n}_relation", parse_relation, "relation") if crel_raw else Relation.OTHER
            phone = parsed(f"contact{n}_phone", parse_phone, "phone") if cphone_raw else ""
            if len(cname) > 100:
                err(f"contact{n}_name", cname, "too_long", Reason(_("Longer than %(n)s characters."), n=100))
            contacts.append(Contact(cname or f"联系人{n}", rel or Relation.OTHER, phone or ""))
        if account:
            first = self.seen_accounts.get(account)
            if first is not None:
                err("account_number", account, "duplicate_account",
                    Reason(_("The account number is already in row %(row)s of this file."), row=first))
            else:
                self.seen_accounts[account] = row
        if errors:
            return None, errors
        if dpd is None:
            # Only the bucket is known: the first day of that bucket.
            dpd = 0 if bucket in (None, "M0") else 181 if bucket == "M7+" else (int(bucket[1:]) - 1) * 30 + 1
            bucket = bucket or bucket_for_dpd(dpd)
        else:
            bucket = bucket_for_dpd(dpd)
        return Record(
            row=row, name=name, id_number=info.number, gender=info.gender, birth_date=info.birth_date,
            account_number=account, product=texts["product"], dpd=dpd, bucket=bucket, total_due=total,
            mobile=mobile, placed_on=placed_on, ends_on=ends_on, home_address=texts["home_address"],
            hukou_address=texts["hukou_address"], employer=texts["employer"], work_address=texts["work_address"],
            work_phone=work_phone, last_payment_date=last_date, last_payment_amount=last_amount,
            contacts=contacts, **parts,
        ), []


# --- the fast path: a valid row straight to its packed form ----------------------------------------------------
#
# ``RowValidator.validate_packed`` gives exactly what ``pack_record(validate(...))`` would, for the rows almost
# every file is made of (plain digits, ISO dates, ASCII amounts), at a fraction of the cost: no ``Decimal``, no
# per-row closures or dicts. Anything it does not recognise at once, and every invalid row, goes the thorough
# way (``validate``), which reports every error. The packed form is a plain tuple (cheap to send between
# processes): the fields in their stored text form, indexed by the constants below.

(P_ACCOUNT, P_ID_NUMBER, P_NAME, P_GENDER, P_BIRTH, P_EMPLOYER, P_PRODUCT, P_DPD, P_BUCKET, P_TOTAL, P_PRINCIPAL,
 P_INTEREST, P_LATE_FEES, P_OTHER_FEES, P_PLACED_ON, P_ENDS_ON, P_LAST_DATE, P_LAST_AMOUNT, P_MOBILE, P_WORK_PHONE,
 P_HOME, P_HUKOU, P_WORK_ADDRESS, P_CONTACTS) = range(24)
P_MONEY = (P_PRINCIPAL, P_INTEREST, P_LATE_FEES, P_OTHER_FEES, P_TOTAL)  # in the order of placement.CASE_MONEY

_MONEY_FAST = re.compile(r"(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,2}))?").fullmatch  # never above MAX_MONEY
_ID_WEIGHTS_SUM48 = 48 * sum(idnumbers.WEIGHTS)  # ord("0") times the weights: subtracted from a sum over bytes
_BUCKET_OF_DPD = [str(bucket_for_dpd(d)) for d in range(MAX_DPD + 1)]
_RELATION_TEXT = {w: str(r.value) for w, r in RELATION_WORDS.items()}
_OTHER = str(Relation.OTHER.value)


def _text(value):
    """A choices member (a str subclass) as a plain str."""
    return value.value if hasattr(value, "value") else value


def _iso(d):
    return d.isoformat() if d is not None else None


def _money_text(value):
    return None if value is None else str(value)


def pack_record(rec: Record) -> tuple:
    """The packed form of a validated Record (see the P_* constants)."""
    return (rec.account_number, rec.id_number, rec.name, rec.gender, rec.birth_date.isoformat(), rec.employer,
            rec.product, rec.dpd, _text(rec.bucket), str(rec.total_due), str(rec.principal), str(rec.interest),
            str(rec.late_fees), str(rec.other_fees), _iso(rec.placed_on), _iso(rec.ends_on),
            _iso(rec.last_payment_date), _money_text(rec.last_payment_amount), rec.mobile, rec.work_phone,
            rec.home_address, rec.hukou_address, rec.work_address,
            tuple((c.name, _text(c.relation), c.phone) for c in rec.contacts))


@lru_cache(maxsize=8192)
def _date_iso(raw: str) -> str:
    return parse_date(raw).isoformat()


@lru_cache(maxsize=256)
def _bucket_fast(raw: str) -> str:
    return _text(parse_bucket(raw))


class _Slow(Exception):
    """The fast path gives up on this row: the thorough path decides."""


def _fast_validator(v: RowValidator):
    """A function (row, cells) -> packed tuple, or raising _Slow (or any error): the thorough path decides."""
    idx = v.index
    width = max(idx.values(), default=-1) + 1
    today = v.today
    seen = v.seen_accounts
    weights = idnumbers.WEIGHTS
    check_chars = idnumbers.CHECK_CHARS
    earliest = idnumbers.EARLIEST_BIRTH
    tol_cents = v.tolerance * 100
    has_parts = v.has_parts
    money_fast, date_iso, bucket_fast = _MONEY_FAST, _date_iso, _bucket_fast
    bucket_of_dpd, relation_text = _BUCKET_OF_DPD, _RELATION_TEXT
    len_name, len_account, len_product = MAX_LEN["name"], MAX_LEN["account_number"], MAX_LEN["product"]
    len_home, len_hukou = MAX_LEN["home_address"], MAX_LEN["hukou_address"]
    len_employer, len_work = MAX_LEN["employer"], MAX_LEN["work_address"]

    def col(key):
        return idx.get(key, width)  # ``width`` is the always-empty padding cell

    i_name, i_account, i_id, i_total = col("name"), col("account_number"), col("id_number"), col("total_due")
    i_parts = [col(p) for p in MONEY_PARTS]
    i_dpd, i_bucket, i_mobile, i_work_phone = col("dpd"), col("bucket"), col("mobile"), col("work_phone")
    i_placed, i_ends, i_last_date, i_last_amount = (col("placed_on"), col("ends_on"), col("last_payment_date"),
                                                    col("last_payment_amount"))
    i_product, i_home, i_hukou, i_employer, i_work = (col("product"), col("home_address"), col("hukou_address"),
                                                      col("employer"), col("work_address"))
    slots = [(n, col(f"contact{n}_name"), col(f"contact{n}_relation"), col(f"contact{n}_phone"))
             for n in v.contact_slots]
    pad = [""] * (width + 1)
    mul = operator.mul

    def money(raw):
        m = money_fast(raw)
        if m is None:
            raise _Slow
        units, frac = m.groups()
        if frac is None:
            return int(units) * 100, units + ".00"
        if len(frac) == 1:
            frac += "0"
        return int(units) * 100 + int(frac), f"{units}.{frac}"

    def fast(cells):
        # A copy with exactly the mapped columns, then one empty cell (where unmapped fields read).
        n = len(cells)
        if n > width:
            cells = cells[:width]
            cells.append("")
        else:
            cells = cells + pad[:width + 1 - n]
        name, account, id_raw = cells[i_name], cells[i_account], cells[i_id]
        if not name or len(name) > len_name or not account or len(account) > len_account:
            raise _Slow
        # The ID number, 18 characters as written (anything else: the thorough path normalises or reports it).
        if len(id_raw) != 18 or not id_raw.isascii() or not id_raw[:17].isdigit():
            raise _Slow
        last = id_raw[17]
        b = id_raw.encode()
        if (last != "X" and not last.isdigit()) or check_chars[
                (sum(map(mul, b[:17], weights)) - _ID_WEIGHTS_SUM48) % 11] != last:
            raise _Slow
        born = date(int(id_raw[6:10]), int(id_raw[10:12]), int(id_raw[12:14]))
        if born < earliest or born > today:
            raise _Slow
        total_cents, total = money(cells[i_total])
        parts = []
        sum_cents = 0
        for i in i_parts:
            raw = cells[i]
            if raw:
                c, t = money(raw)
                sum_cents += c
                parts.append(t)
            else:
                parts.append("0.00")
        if has_parts:
            if abs(sum_cents - total_cents) > tol_cents:
                raise _Slow
        else:
            parts[0] = total
        dpd_raw, bucket_raw = cells[i_dpd], cells[i_bucket]
        bucket = bucket_fast(bucket_raw) if bucket_raw else None
        if dpd_raw:
            if not (dpd_raw.isascii() and dpd_raw.isdigit()):
                raise _Slow
            dpd = int(dpd_raw)
            if dpd > MAX_DPD:
                raise _Slow
            bucket = bucket_of_dpd[dpd]
        elif bucket is None:
            raise _Slow
        else:
            dpd = 0 if bucket == "M0" else 181 if bucket == "M7+" else (int(bucket[1:]) - 1) * 30 + 1
        raw = cells[i_mobile]
        mobile = parse_phone(raw) if raw else ""
        raw = cells[i_work_phone]
        work_phone = parse_phone(raw) if raw else ""
        raw = cells[i_placed]
        placed_on = date_iso(raw) if raw else None
        raw = cells[i_ends]
        ends_on = date_iso(raw) if raw else None
        if placed_on and ends_on and ends_on < placed_on:  # ISO dates of years 1900-2200 sort as text
            raise _Slow
        raw = cells[i_last_date]
        last_date = date_iso(raw) if raw else None
        raw = cells[i_last_amount]
        last_amount = money(raw)[1] if raw else None
        product, home, hukou, employer, work = (cells[i_product], cells[i_home], cells[i_hukou], cells[i_employer],
                                                cells[i_work])
        if (len(product) > len_product or len(home) > len_home or len(hukou) > len_hukou
                or len(employer) > len_employer or len(work) > len_work):
            raise _Slow
        contacts = []
        for n, i_cname, i_crel, i_cphone in slots:
            cname, crel, cphone = cells[i_cname], cells[i_crel], cells[i_cphone]
            if not (cname or cphone):
                continue
            if crel:
                rel = relation_text.get(crel) or relation_text.get(crel.strip().lower())
                if rel is None:
                    raise _Slow
            else:
                rel = _OTHER
            if len(cname) > 100:
                raise _Slow
            contacts.append((cname or f"联系人{n}", rel, parse_phone(cphone) if cphone else ""))
        if account in seen:
            raise _Slow
        return (account, id_raw, name, "M" if (b[16] - 48) % 2 else "F", born.isoformat(), employer, product, dpd,
                bucket, total, *parts, placed_on, ends_on, last_date, last_amount, mobile, work_phone, home, hukou,
                work, tuple(contacts))

    return fast
