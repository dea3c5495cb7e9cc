"""The one blank English spaCy pipeline of a process, shared by the matcher's token rules and Presidio's
context step: building it (tokenizer exceptions, lemma tables) is a third of a second each time."""

from __future__ import annotations

import functools

import spacy
from spacy.language import Language


@functools.cache
def english() -> Language:
    """Blank English with the lookup lemmatizer, whose tables come from spacy-lookups-data (installed,
    never downloaded); tokens and lemmas only, no model."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp
