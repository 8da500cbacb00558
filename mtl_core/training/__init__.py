"""Training: one run, from config to epochs written to a sink (the run store, or memory).

The trainer (``trainer.train``; its parts ``problem``, ``loop``, ``ending``, ``results``),
the ``RunSink`` protocol it writes through and the in-memory sink (``sink``), its
stop/pause control, and what it records besides the curves (gradient conflict,
inter-task affinity, representations, provenance). Imports data, models, methods, config, store and analysis;
never execution, studies, the CLI or the dashboard.
"""
