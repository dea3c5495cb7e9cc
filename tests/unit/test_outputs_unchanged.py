"""Speed work must not change what is found: the demo's and the development sets' hits, cases and
errors are byte for byte those recorded in tests/helpers/golden_outputs.json (see tests/helpers/golden.py)."""

from __future__ import annotations

import pytest

from tests.helpers.golden import SETS, recorded, scan_digests


@pytest.mark.parametrize("name", sorted(SETS))
def test_outputs_are_byte_identical_to_the_recorded_ones(name):
    fresh, expected = scan_digests(name), recorded()[name]
    changed = {file: (expected.get(file), got) for file, got in fresh.items() if got != expected.get(file)}
    assert not changed, (
        f"{name}: outputs changed {changed}. A speed change must not change them; a change meant to "
        f"change detection runs `python -m tests.helpers.golden --update` and says why in its commit.")
