"""The run store: one SQLite file per server that holds every run's config and curves.

``runs`` is the store itself, ``safety`` decides whether a path a user names may become
(or already is) a store, ``liveness`` tells a dead owner from a live one. Imports the
foundation, ``mtl_core.config`` and ``mtl_core.limits``; never training or above.
"""
