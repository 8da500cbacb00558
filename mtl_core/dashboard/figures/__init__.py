"""Figures: Plotly figures built by pure functions of data frames, without ``st.*``."""
