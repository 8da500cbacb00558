"""Data: datasets, their files and downloads, splits, variants, task targets, batches.

What a run trains on, as tensors, from raw files to seeded batches. Imports only the
foundation modules (``mtl_core.errors``, ``paths``, ``seeds``, ``user_files``); never
models, methods, training or anything above. ``datasets``, ``tasks`` and ``variants``
declare names used by config checks.
"""
