"""Training: one run, from config to epochs written to the store.

The trainer, its stop/pause control, and what it records besides the curves (gradient
conflict, representations, provenance). Imports data, models, methods, config, store and
analysis; never execution, studies, the CLI or the dashboard.
"""
