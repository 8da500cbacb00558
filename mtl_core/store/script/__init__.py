"""A stored run as one standalone PyTorch script (``export RUN --format script``).

``export`` checks that a run is covered, writes its setup as constants and joins the
parts a run needs: ``parts_data`` (seeded streams, loaders, the split, targets),
``parts_model`` (trunks, the network, soft-sharing penalties) and ``parts_training``
(weightings, measuring, the batch order and the loop). The parts are code as text: each
repeats, in plain torch and numpy, what the package does, in the same order of
operations, so a script's curves match the stored run's (tests/test_script_export.py).
Part of the store layer: imports the foundation, ``mtl_core.config``, the data registries
and ``models.counting`` (no torch); never training or above.
"""
