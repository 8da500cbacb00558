"""Golden curves: stored outputs of today's code that a refactor must reproduce bit for bit.

See docs/golden.md. ``cells.py`` defines the configs and how their outputs are recorded,
``make_golden.py`` writes ``curves-<CPU capability>.json`` and ``splits.json``, ``tests/test_golden.py``
checks them.
"""
