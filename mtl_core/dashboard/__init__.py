"""The dashboard page (Streamlit): the top of the layers, nothing imports it.

``app`` routes between views, ``serve`` holds the launcher's parts, ``runs`` the page's
run manager; ``pages/`` one module per view, ``widgets/`` the sidebar and shared controls,
``figures/`` Plotly figures built by pure functions without ``st.*``. The scripts
``streamlit run`` starts are ``dashboard/serve.py`` and ``dashboard/app.py`` at the
repository root; they only import this package.
"""
