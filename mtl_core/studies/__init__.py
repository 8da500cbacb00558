"""Studies: experiments made of many runs (seeds, comparisons, learning curves, sweeps,
baselines, classroom presets), planned as configs and run through ``execution``.

Imports execution and everything below; never the CLI or the dashboard.
"""
