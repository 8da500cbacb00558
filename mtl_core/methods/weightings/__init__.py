"""Loss weightings, one module each: its declaration (``METHOD``) and its implementation.

A new weighting is one new module here plus its test (docs/extending.md): the catalog
reads every module's ``METHOD`` without importing it (``methods/declarations.py``), the
trainer's registry (``methods/weighting.py``) imports each module for its ``Weighting``
subclass. Modules whose name starts with ``_`` hold the shared parts. Imports torch; the
foundation and ``methods`` only.
"""
