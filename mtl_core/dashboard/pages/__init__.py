"""The views: one module per view of the page, each drawing into the main area."""
