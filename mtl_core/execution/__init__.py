"""Execution: where runs train (worker processes, a batch pool, a Ray cluster).

Imports training and everything below it; never studies, the CLI or the dashboard.
"""
