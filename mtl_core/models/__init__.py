"""Models: trunks (MLP, CNN, maxout), the sharing modes built from them (hard sharing of
the first K layers included), cross-stitch units, and the parameter count by arithmetic.

Pure ``torch.nn`` code (but ``counting.py``: no torch, for the dashboard's server).
Imports the foundation (``mtl_core.seeds``) and ``mtl_core.data`` for task shapes; never
methods, training, the store or anything above.
"""
