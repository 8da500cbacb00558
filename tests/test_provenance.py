"""One curve version: the one a run's provenance records is the one run identity compares
(``CURVE_VERSION`` lives in ``training/provenance.py`` so training imports nothing from
the execution layer; ``execution/identity.py`` should import it from there)."""

from __future__ import annotations

from mtl_core.execution import identity
from mtl_core.training import provenance


def test_provenance_records_the_version_identity_compares():
    assert provenance.CURVE_VERSION == identity.CURVE_VERSION
    assert provenance.provenance(1, "cpu", "d" * 64)["curve_version"] == identity.CURVE_VERSION
