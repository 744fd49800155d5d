"""Placement intake (委案导入): readers, header profiles, row validation and the import action.

Public entry points (stable signatures; other code such as the upload page codes against these):

- ``read_table(file, *, encoding=None, sheet=None) -> Table`` (readers.py)
- ``propose_mapping(headers, creditor) -> Proposal`` (profiles.py)
- ``create_import(file, *, creditor, profile=None, dry_run=False, skip_invalid=False, acting_user=None,
  mapping=None, encoding=None, placement_code=None) -> Import`` (placement.py)
- ``run_placement_import(import_id, *, progress=None) -> Import`` (placement.py)
"""

__all__ = ["FIELDS", "Proposal", "Table", "create_import", "live_progress", "propose_mapping", "read_table",
           "run_placement_import"]

_WHERE = {"create_import": "placement", "run_placement_import": "placement", "live_progress": "placement",
          "FIELDS": "profiles", "Proposal": "profiles", "propose_mapping": "profiles",
          "Table": "readers", "read_table": "readers"}


def __getattr__(name):
    # Lazy, so that the sample generator and readers can be imported before Django is set up.
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(name)
