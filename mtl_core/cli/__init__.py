"""The command line, ``python -m mtl_core VERB``: one module per group of verbs.

``main`` holds the parser and the single-run verbs; ``batch``, ``insights`` and ``sweep``
add theirs. Imports anything in ``mtl_core`` except the dashboard.
"""
