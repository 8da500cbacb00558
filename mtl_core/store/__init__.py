"""The run store: one SQLite file per server that holds every run's config and curves.

``runs`` is the store itself (``schema`` its tables and statuses, ``opening`` how its
file is opened, ``export`` its CSV/JSON files), ``safety`` decides whether a path a user
names may become (or already is) a store, ``liveness`` tells a dead owner from a live one,
and ``script/`` writes a stored run as one standalone PyTorch script (it reads the data
registries and ``mtl_core.models.counting``). Imports the foundation, the data and model
declarations, ``mtl_core.config`` and ``mtl_core.limits``; never training or above.
"""
