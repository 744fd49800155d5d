"""The policy-layer edit form: one input per parameter of presets.PARAMETERS, by its type.

Parses and checks types only; `compliance.actions.do_publish_policy_layer` validates the values
(policies.validate_params) and publishes. A parameter left unset is not part of the layer (the
rule is off unless another layer sets it).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from qingshou.compliance import labels
from qingshou.compliance.presets import PARAMETERS

BOOL_CHOICES = [("", _("not set")), ("true", _("yes")), ("false", _("no"))]
MAX_INT = 1000


def _list_choices(name: str) -> list[tuple[str, str]] | None:
    """Fixed choices of a list parameter, or None for free text (time zones)."""
    if name == "hours_channels":
        from qingshou.contact.models import Channel

        return [(v, str(label)) for v, label in Channel.choices]
    if name == "third_party_purposes":
        return [(k, str(v)) for k, v in labels.PURPOSE_LABELS.items()]
    if name == "holds_block":
        from qingshou.compliance.policies import HOLDS

        return [(h, labels.hold_label(h)) for h in HOLDS]
    if name == "content_scan":
        from qingshou.compliance.scanner import default_scanner

        cats = list(labels.CONTENT_LABELS)
        cats += [c for c in sorted(default_scanner().categories) if c not in cats]
        return [(c, labels.element_label(name, c)) for c in cats]
    return None


class PolicyLayerForm(forms.Form):
    note = forms.CharField(label=_("What changed and why"), max_length=300,
                           widget=forms.TextInput(attrs={"class": "grow", "autocomplete": "off"}))

    def __init__(self, *args, params: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        params = params or {}
        self.rows: list[dict] = []
        for name, (kind, _merge) in PARAMETERS.items():
            value = params.get(name)
            row = {"name": name, "kind": kind, "label": labels.param_label(name),
                   "description": labels.param_description(name), "merge": labels.merge_rule_text(name),
                   "fields": []}
            if kind == "bool":
                self.fields[name] = forms.ChoiceField(choices=BOOL_CHOICES, required=False, label=row["label"])
                self.initial[name] = "" if value is None else ("true" if value else "false")
                row["fields"] = [name]
            elif kind == "int":
                self.fields[name] = forms.IntegerField(required=False, min_value=0, max_value=MAX_INT,
                                                       label=row["label"],
                                                       widget=forms.NumberInput(attrs={"class": "num"}))
                self.initial[name] = value
                row["fields"] = [name]
            elif kind == "window":
                for i, part in enumerate(("start", "end")):
                    key = f"{name}__{part}"
                    self.fields[key] = forms.TimeField(required=False, label=row["label"], input_formats=["%H:%M"],
                                                       widget=forms.TimeInput(attrs={"type": "time"},
                                                                              format="%H:%M"))
                    if isinstance(value, list | tuple) and len(value) == 2:
                        self.initial[key] = value[i]
                row["fields"] = [f"{name}__start", f"{name}__end"]
            elif kind == "list":
                set_key = f"{name}__set"
                self.fields[set_key] = forms.BooleanField(required=False, label=_("set in this layer"))
                self.initial[set_key] = value is not None
                choices = _list_choices(name)
                if choices is None:
                    self.fields[name] = forms.CharField(required=False, label=row["label"], max_length=2000,
                                                        help_text=_("Separate entries with commas."),
                                                        widget=forms.TextInput(attrs={"class": "grow"}))
                    self.initial[name] = ", ".join(value or [])
                else:
                    known = {c for c, _label in choices}
                    extra = [(v, v) for v in (value or []) if v not in known]
                    self.fields[name] = forms.MultipleChoiceField(
                        choices=choices + extra, required=False, label=row["label"],
                        widget=forms.CheckboxSelectMultiple,
                    )
                    self.initial[name] = list(value or [])
                row["fields"] = [set_key, name]
            self.rows.append(row)

    def bound_rows(self):
        """Rows with their bound fields and errors, for the template."""
        out = []
        for row in self.rows:
            bound = [self[f] for f in row["fields"]]
            out.append({**row, "bound": bound, "errors": [e for b in bound for e in b.errors]})
        return out

    def add_param_error(self, name: str, message: str) -> None:
        """An error the publish action reported for a parameter, beside that parameter's inputs."""
        key = next((row["fields"][-1] for row in self.rows if row["name"] == name), None)
        self.add_error(key, message)

    def params(self) -> dict:
        """The layer's parameters from the cleaned data (unset ones left out)."""
        cd = self.cleaned_data
        out: dict = {}
        for name, (kind, _merge) in PARAMETERS.items():
            if kind == "bool":
                raw = cd.get(name)
                if raw in ("true", "false"):
                    out[name] = raw == "true"
            elif kind == "int":
                if cd.get(name) is not None:
                    out[name] = cd[name]
            elif kind == "window":
                start, end = cd.get(f"{name}__start"), cd.get(f"{name}__end")
                if start is not None or end is not None:
                    out[name] = [start.strftime("%H:%M") if start else "", end.strftime("%H:%M") if end else ""]
            elif kind == "list":
                if not cd.get(f"{name}__set"):
                    continue
                raw = cd.get(name)
                if isinstance(raw, str):
                    out[name] = [v.strip() for v in raw.replace("，", ",").split(",") if v.strip()]
                else:
                    out[name] = list(raw or [])
        return out
