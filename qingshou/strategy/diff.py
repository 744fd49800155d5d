"""A readable diff between two rule lists: rules added, removed, moved and changed, field by field."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from qingshou.strategy.rules import condition_label

FIELDS = ("label", "treatment", "priority")


@dataclass
class RuleChange:
    kind: str                     # added / removed / changed / moved
    rule_id: str
    label: str
    lines: list[str] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return {"added": _("added"), "removed": _("removed"), "changed": _("changed"), "moved": _("moved")}[self.kind]


def fmt_value(v) -> str:
    if isinstance(v, list):
        return "、".join(str(x) for x in v)
    if v is True:
        return _("yes")
    if v is False:
        return _("no")
    return str(v)


def _treatment(code) -> str:
    from qingshou.strategy.models import TREATMENT_LABELS

    return str(TREATMENT_LABELS.get(code, code))


def diff_rules(old: list[dict], new: list[dict]) -> list[RuleChange]:
    old_by = {r.get("id"): (i, r) for i, r in enumerate(old)}
    new_by = {r.get("id"): (i, r) for i, r in enumerate(new)}
    out: list[RuleChange] = []
    common_old = [r.get("id") for r in old if r.get("id") in new_by]
    common_new = [r.get("id") for r in new if r.get("id") in old_by]
    for rid, (i, r) in new_by.items():
        if rid not in old_by:
            when = r.get("when") or {}
            conds = "，".join(f"{condition_label(k)} {fmt_value(v)}" for k, v in when.items()) or _("(no conditions)")
            out.append(RuleChange("added", rid, r.get("label", ""), [
                _("position %(n)s: when %(conds)s → %(t)s, priority %(p)s") % {
                    "n": i + 1, "conds": conds, "t": _treatment(r.get("treatment")), "p": r.get("priority")}]))
            continue
        j, o = old_by[rid]
        lines = []
        for f in FIELDS:
            if o.get(f) != r.get(f):
                names = {"label": _("name"), "treatment": _("treatment"), "priority": _("priority")}
                show = _treatment if f == "treatment" else fmt_value
                lines.append(_("%(field)s: %(old)s → %(new)s") % {"field": names[f], "old": show(o.get(f)),
                                                                   "new": show(r.get(f))})
        ow, nw = o.get("when") or {}, r.get("when") or {}
        for k in sorted(set(ow) | set(nw)):
            name = condition_label(k)
            if k not in ow:
                lines.append(_("condition %(k)s added: %(v)s") % {"k": name, "v": fmt_value(nw[k])})
            elif k not in nw:
                lines.append(_("condition %(k)s removed (was %(v)s)") % {"k": name, "v": fmt_value(ow[k])})
            elif ow[k] != nw[k]:
                lines.append(_("condition %(k)s: %(old)s → %(new)s") % {"k": name, "old": fmt_value(ow[k]),
                                                                          "new": fmt_value(nw[k])})
        if lines:
            out.append(RuleChange("changed", rid, r.get("label", ""), lines))
        if common_old.index(rid) != common_new.index(rid):
            out.append(RuleChange("moved", rid, r.get("label", ""), [
                _("position %(old)s → %(new)s") % {"old": j + 1, "new": i + 1}]))
    for rid, (_i, o) in old_by.items():
        if rid not in new_by:
            out.append(RuleChange("removed", rid, o.get("label", ""), [
                _("was at position %(n)s") % {"n": _i + 1}]))
    return out
