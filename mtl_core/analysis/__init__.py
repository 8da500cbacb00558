"""Analysis: pure functions over stored numbers (statistics, curve summaries, run tables).

No torch. Imports the foundation and ``mtl_core.config`` only.
"""
