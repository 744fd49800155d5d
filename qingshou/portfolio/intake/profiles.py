"""Our import fields, the creditors' usual header synonyms, and mapping proposals (表头映射)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

MAX_CONTACTS = 5


@dataclass(frozen=True)
class FieldSpec:
    label: object  # lazy translated label
    synonyms: tuple[str, ...]  # the Chinese header first: it is what a saved profile shows
    required: bool = False
    kind: str = "text"  # text, id_number, phone, money, int, date, bucket, relation


_BASE: dict[str, FieldSpec] = {
    "name": FieldSpec(_("debtor name"), ("客户姓名", "姓名", "客户名称", "借款人姓名", "借款人", "债务人姓名",
                                         "持卡人姓名", "持卡人", "name", "customer name"), required=True),
    "id_number": FieldSpec(_("ID number"), ("证件号码", "身份证号码", "身份证号", "证件号", "身份证", "客户证件号",
                                            "id number", "id_number"), required=True, kind="id_number"),
    "mobile": FieldSpec(_("mobile"), ("手机号码", "手机号", "手机", "本人手机", "本人电话", "本人手机号",
                                      "移动电话", "联系电话", "客户电话", "mobile", "phone"), kind="phone"),
    "account_number": FieldSpec(_("account number"), ("卡号/合同号", "卡号", "合同号", "合同编号", "账号", "账户号",
                                                      "借据号", "贷款账号", "信用卡号", "案件编号",
                                                      "account number", "account_number"), required=True),
    "product": FieldSpec(_("product"), ("产品", "产品名称", "产品类型", "贷款产品", "业务类型", "product")),
    "dpd": FieldSpec(_("days past due"), ("逾期天数", "逾期日数", "逾期天", "dpd", "days past due"), kind="int"),
    "bucket": FieldSpec(_("bucket"), ("账龄", "逾期阶段", "账龄阶段", "逾期账龄", "手别", "bucket"), kind="bucket"),
    "total_due": FieldSpec(_("balance"), ("欠款总额", "欠款金额", "总欠款", "欠款余额", "委案金额", "应还总额",
                                          "委托金额", "逾期总额", "total due", "balance"), required=True, kind="money"),
    "principal": FieldSpec(_("principal"), ("本金", "欠款本金", "剩余本金", "本金余额", "逾期本金", "principal"),
                           kind="money"),
    "interest": FieldSpec(_("interest"), ("利息", "欠款利息", "逾期利息", "interest"), kind="money"),
    "late_fees": FieldSpec(_("late fees"), ("滞纳金", "违约金", "罚息", "late fees"), kind="money"),
    "other_fees": FieldSpec(_("other fees"), ("其他费用", "其它费用", "费用", "手续费", "other fees"), kind="money"),
    "placed_on": FieldSpec(_("placement date"), ("委案日期", "委托日期", "委外日期", "委案开始日期", "placed on"),
                           kind="date"),
    "ends_on": FieldSpec(_("recall date"), ("退案日期", "委托截止日期", "委案截止日期", "预计退案日期",
                                            "委案到期日", "ends on"), kind="date"),
    "home_address": FieldSpec(_("home address"), ("家庭地址", "居住地址", "现住址", "住宅地址", "家庭住址",
                                                  "现居住地址", "home address")),
    "hukou_address": FieldSpec(_("registered residence"), ("户籍地址", "户口地址", "身份证地址", "户籍所在地",
                                                           "证件地址", "hukou address")),
    "employer": FieldSpec(_("employer"), ("单位名称", "工作单位", "公司名称", "单位", "employer")),
    "work_address": FieldSpec(_("work address"), ("单位地址", "公司地址", "工作单位地址", "work address")),
    "work_phone": FieldSpec(_("work phone"), ("单位电话", "公司电话", "工作电话", "单位联系电话", "work phone"),
                            kind="phone"),
    "last_payment_date": FieldSpec(_("last payment date"), ("最后还款日期", "最近还款日期", "最后缴款日期",
                                                            "上次还款日期", "最后还款日", "last payment date"),
                                   kind="date"),
    "last_payment_amount": FieldSpec(_("last payment amount"), ("最后还款金额", "最近还款金额", "最后缴款金额",
                                                                "上次还款金额", "last payment amount"),
                                     kind="money"),
}

_CN_NUM = "一二三四五六七八九十"
_CONTACT_PART = {"name": ("姓名", "名字", "名称"), "relation": ("关系", "与本人关系", "与客户关系", "与借款人关系"),
                 "phone": ("电话", "手机", "手机号", "手机号码", "联系电话", "号码", "电话号码")}


def _contact_fields() -> dict[str, FieldSpec]:
    out = {}
    labels = {"name": _("contact %(n)s name"), "relation": _("contact %(n)s relation"),
              "phone": _("contact %(n)s phone")}
    kinds = {"name": "text", "relation": "relation", "phone": "phone"}
    for n in range(1, MAX_CONTACTS + 1):
        for part, words in _CONTACT_PART.items():
            syn = tuple(f"联系人{n}{w}" for w in words) + tuple(f"联系人{_CN_NUM[n - 1]}{w}" for w in words)
            if n == 1:
                syn += tuple(f"紧急联系人{w}" for w in words)
            syn += (f"contact{n}_{part}",)
            out[f"contact{n}_{part}"] = FieldSpec(LabelN(labels[part], n), syn, kind=kinds[part])
    return out


class LabelN:
    """A lazily translated label with its contact number filled in."""

    def __init__(self, template, n):
        self.template, self.n = template, n

    def __str__(self):
        return str(self.template) % {"n": self.n}


FIELDS: dict[str, FieldSpec] = {**_BASE, **_contact_fields()}
REQUIRED = [k for k, f in FIELDS.items() if f.required]

_BRACKETS = re.compile(r"[(（\[【].*?[)）\]】]")
_NOISE = re.compile(r"[\s*:：_\-—]+")


def normalise_header(header: str) -> str:
    """Header text compared loosely: full-width folded, lower case, units in brackets and spaces removed."""
    h = unicodedata.normalize("NFKC", header or "").strip().lower()
    h = _BRACKETS.sub("", h) or h
    return _NOISE.sub("", h)


_SYNONYMS: dict[str, str] = {}
for _key, _spec in FIELDS.items():
    for _s in _spec.synonyms:
        _SYNONYMS.setdefault(normalise_header(_s), _key)
for _key in FIELDS:  # our own field names always map
    _SYNONYMS.setdefault(normalise_header(_key), _key)


def field_for_header(header: str) -> str | None:
    return _SYNONYMS.get(normalise_header(header))


@dataclass
class Proposal:
    """A proposed mapping {our_field: their_header}; the saved profile it started from (if any); the headers
    nothing maps to; the required fields no header maps to."""

    mapping: dict[str, str]
    profile: object | None = None
    unmapped_headers: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing_required


def _finish(mapping: dict[str, str], headers: list[str], profile=None) -> Proposal:
    used = set(mapping.values())
    return Proposal(mapping=mapping, profile=profile,
                    unmapped_headers=[h for h in headers if h and h not in used],
                    missing_required=[k for k in REQUIRED if k not in mapping])


def synonym_mapping(headers: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for h in headers:
        key = field_for_header(h)
        if key and key not in mapping:
            mapping[key] = h
    return mapping


def check_mapping(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """Problems of a mapping against a file's headers: {field: message}. Empty when usable."""
    problems = {}
    present = set(headers)
    for key, header in mapping.items():
        if key not in FIELDS:
            problems[key] = _("Unknown field.")
        elif header not in present:
            problems[key] = _("The file has no column %(header)s.") % {"header": header}
    for key in REQUIRED:
        if not mapping.get(key):
            problems[key] = _("A required field has no column.")
    return problems


def propose_mapping(headers: list[str], creditor) -> Proposal:
    """Propose {our_field: header} for these headers.

    First the creditor's saved placement profile that fits the headers best (every header it names is in
    the file; most fields wins), then the known synonyms (客户姓名 → name, 证件号码 → id_number, ...) fill
    what it leaves out. The user confirms or edits the result and may save it as a profile.
    """
    from qingshou.portfolio.models import ImportKind, ImportProfile

    present = set(headers)
    best, best_n = None, 0
    if creditor is not None:
        for prof in ImportProfile.objects.filter(creditor=creditor, kind=ImportKind.PLACEMENT):
            m = {k: v for k, v in (prof.mapping or {}).items() if k in FIELDS and v}
            if m and set(m.values()) <= present and len(m) > best_n:
                best, best_n = prof, len(m)
    mapping = {k: v for k, v in best.mapping.items() if k in FIELDS and v} if best else {}
    used = set(mapping.values())
    for key, header in synonym_mapping(headers).items():
        if key not in mapping and header not in used:
            mapping[key] = header
            used.add(header)
    return _finish(mapping, headers, best)
