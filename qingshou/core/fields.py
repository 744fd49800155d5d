"""Model fields for PII at rest: an encrypted text column with a keyed-hash companion column.

    class Phone(EncryptedFieldsModel):
        number = EncryptedCharField(_("number"), max_length=20)
        number_hash = LookupHashField(source="number")

- ``phone.number`` is the plaintext everywhere in Python (decrypted on load by ``from_db_value``,
  encrypted on the way to the database by ``get_db_prep_value``), so templates, masking, actions,
  ``values_list("number")`` and subqueries keep working unchanged. ``max_length`` validates the
  plaintext; the column itself is ``text`` (ciphertext is longer).
- ``phone.number_hash`` is always HMAC(hash key, phone.number), computed from the plaintext on access,
  so ``save()``, ``bulk_create()``, ``bulk_update()`` and constraint validation write a hash that
  agrees with the number without anyone setting it.
- Exact lookups on the encrypted field are rewritten to the hash column: ``filter(number=x)``,
  ``filter(number__in=[...])`` and ``filter(party__phones__number=x)`` work; every other lookup or
  transform (contains, startswith, lower, ordering semantics...) would silently compare ciphertext, so
  it raises ``FieldError``.
- ``EncryptedFieldsModel`` (abstract) adds the queryset whose ``update(number=...)`` and
  ``bulk_update(objs, ["number"])`` also write the hash, and a ``save(update_fields=["number"])`` that
  includes the hash.
"""

from __future__ import annotations

from functools import cache

from django.core.exceptions import EmptyResultSet, FieldError
from django.db import models
from django.db.models import lookups
from django.db.models.expressions import Col
from django.db.models.query_utils import DeferredAttribute

from qingshou.core import crypto

ALLOWED_LOOKUPS = {"exact", "in", "isnull"}


class EncryptedCharField(models.CharField):
    """A short string (phone number, ID number) stored AES-GCM encrypted; see the module docstring."""

    def get_internal_type(self):
        return "TextField"  # the column holds the ciphertext, longer than max_length

    # --- to and from the database ---------------------------------------------------------------

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return crypto.decrypt(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if not value:
            return value
        return crypto.encrypt(value)

    # --- the companion hash column --------------------------------------------------------------

    @property
    def hash_field(self) -> LookupHashField:
        cached = self.__dict__.get("_hash_field")
        if cached is None:
            matches = [f for f in self.model._meta.concrete_fields
                       if isinstance(f, LookupHashField) and f.source == self.name]
            if len(matches) != 1:
                raise FieldError(f"{self.model.__name__}.{self.name}: needs exactly one LookupHashField(source="
                                 f"{self.name!r}) for lookups")
            cached = self.__dict__["_hash_field"] = matches[0]
        return cached

    # --- lookups: exact and in go through the hash; the rest is refused ---------------------------

    def get_lookup(self, lookup_name):
        if lookup_name not in ALLOWED_LOOKUPS:
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted: only exact, in and isnull lookups work "
                f"(got {lookup_name!r})"
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        raise FieldError(f"{self.model.__name__}.{self.name} is encrypted: no transforms ({lookup_name!r})")


def _hash_col(lookup):
    lhs = lookup.lhs
    if not isinstance(lhs, Col):
        raise FieldError("an encrypted field can only be compared as a plain column")
    return Col(lhs.alias, lhs.target.hash_field)


@EncryptedCharField.register_lookup
class EncryptedExact(lookups.Exact):
    """``number = 'x'`` → ``number_hash IN (hmac(k, 'x') for each hash key)``."""

    def as_sql(self, compiler, connection):
        if hasattr(self.rhs, "resolve_expression"):
            raise FieldError("an encrypted field can only be compared with a plain value")
        hashes = crypto.lookup_hashes(self.rhs)
        col = _hash_col(self)
        inner = lookups.Exact(col, hashes[0]) if len(hashes) == 1 else lookups.In(col, hashes)
        return compiler.compile(inner)


@EncryptedCharField.register_lookup
class EncryptedIn(lookups.In):
    """``number IN ('x', 'y')`` → ``number_hash IN (hashes of 'x' and 'y')``."""

    def as_sql(self, compiler, connection):
        if hasattr(self.rhs, "resolve_expression") or not isinstance(self.rhs, (list, tuple, set, frozenset)):
            raise FieldError("an encrypted field can only be compared with plain values")
        hashes = [h for v in self.rhs if v is not None for h in crypto.lookup_hashes(v)]
        if not hashes:
            raise EmptyResultSet
        return compiler.compile(lookups.In(_hash_col(self), hashes))


class _LookupHashDescriptor(DeferredAttribute):
    """Reads as the hash of the source field's current plaintext (cached per plaintext)."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        data = instance.__dict__
        source = self.field.source_attname
        if source in data:
            plain = data[source]
            cache_key = "_hash_cache_" + self.field.attname
            cached = data.get(cache_key)
            if cached is not None and cached[0] == plain:
                return cached[1]
            value = crypto.hash_value(plain)
            data[cache_key] = (plain, value)
            return value
        return super().__get__(instance, cls)  # source deferred: the stored hash (fetched if needed)

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class LookupHashField(models.CharField):
    """HMAC of another field's plaintext, for exact lookups and unique constraints. Not editable."""

    descriptor_class = _LookupHashDescriptor

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", crypto.HASH_HEX_CHARS)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    @property
    def source_attname(self) -> str:
        cached = self.__dict__.get("_source_attname")
        if cached is None:
            cached = self.__dict__["_source_attname"] = self.model._meta.get_field(self.source).attname
        return cached

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", crypto.HASH_HEX_CHARS), ("editable", False), ("blank", True),
                             ("default", "")):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs


@cache
def _hash_fields(model) -> dict[str, str]:
    """{encrypted field name or attname: its hash field name} for a model."""
    out = {}
    for f in model._meta.concrete_fields:
        if isinstance(f, LookupHashField):
            src = model._meta.get_field(f.source)
            out[src.name] = out[src.attname] = f.name
    return out


class EncryptedQuerySet(models.QuerySet):
    def update(self, **kwargs):
        for name, hash_name in _hash_fields(self.model).items():
            if name in kwargs and hash_name not in kwargs:
                value = kwargs[name]
                if hasattr(value, "resolve_expression"):
                    raise FieldError(f"update({name}=...) of an encrypted field needs a plain value")
                kwargs[hash_name] = crypto.hash_value(value)
        return super().update(**kwargs)

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        fields = list(fields)
        for name, hash_name in _hash_fields(self.model).items():
            if name in fields and hash_name not in fields:
                fields.append(hash_name)
        return super().bulk_update(objs, fields, batch_size=batch_size)

    bulk_update.alters_data = True


class EncryptedFieldsModel(models.Model):
    """Base for models with encrypted fields: hash-aware queryset and save(update_fields=...)."""

    objects = EncryptedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            update_fields = set(update_fields)
            for name, hash_name in _hash_fields(type(self)).items():
                if name in update_fields:
                    update_fields.add(hash_name)
            kwargs["update_fields"] = update_fields
        return super().save(*args, **kwargs)

    save.alters_data = True
