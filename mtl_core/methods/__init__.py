"""Methods: how task losses and gradients become one update (weighting, aggregators).

Imports the foundation only; never models, training or anything above.
"""
