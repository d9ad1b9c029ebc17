"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

# Any character the data contract lets into a text: everything but lone surrogates and the control
# characters it rejects (vocml.data.text_problem); those are tested on their own as rejections.
SAFE_CHARACTERS = st.characters(
    exclude_categories=("Cs",), exclude_characters=[chr(c) for c in (*range(0, 9), *range(14, 32), 127)]
)
