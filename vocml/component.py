"""The spaCy convention: ``nlp.add_pipe("vocml_classifier")`` sets ``doc.cats`` from the shipped model."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from vocml.bundle import load_model
from vocml.model import Classifier


class VocmlClassifier:
    """Pipeline component: classifies ``doc.text`` and writes the three label scores into ``doc.cats``."""

    def __init__(self, model: Classifier) -> None:
        self.model = model

    def __call__(self, doc: Doc) -> Doc:
        prediction = self.model.classify([doc.text])[0]
        doc.cats = dict(prediction.scores)
        return doc

    def pipe(self, docs: object, batch_size: int = 256) -> object:
        """Classify a stream of docs in batches."""
        batch: list[Doc] = []
        for doc in docs:  # type: ignore[attr-defined]
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._run(batch)
                batch = []
        if batch:
            yield from self._run(batch)

    def _run(self, batch: list[Doc]) -> list[Doc]:
        for doc, prediction in zip(batch, self.model.classify([d.text for d in batch]), strict=True):
            doc.cats = dict(prediction.scores)
        return batch


@Language.factory("vocml_classifier", default_config={"model_dir": None, "threshold": None})
def make_vocml_classifier(nlp: Language, name: str, model_dir: str | None, threshold: float | None) -> VocmlClassifier:
    """Build the component from a model bundle (the shipped one when ``model_dir`` is None)."""
    return VocmlClassifier(load_model(model_dir, threshold=threshold))
