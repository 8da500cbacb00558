"""Models: trunks (MLP, CNN), the sharing modes built from them, cross-stitch units.

Pure ``torch.nn`` code. Imports the foundation (``mtl_core.seeds``) and ``mtl_core.data``
for task shapes; never methods, training, the store or anything above.
"""
