"""The page's script: ``streamlit run`` runs it on every interaction.

Thin on purpose: Streamlit runs this file as ``__main__``, and a process started by
multiprocessing re-imports the parent's main script. The page itself lives in the package
(``mtl_core.dashboard.app``); start it through its launcher, ``make dashboard``
(``streamlit run dashboard/serve.py``), which serves Plotly.js and the owner cookie.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # not when a worker process imports this script
    from mtl_core.dashboard.app import page

    page()
