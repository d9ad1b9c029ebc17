"""Model bundles: ``models/<version>/pipeline.joblib`` beside ``card.json`` (and ``inference.npz``).

The card is read first. Loading refuses, with a message that says what to do, a bundle whose files
do not match the card's sha256 or that was built with other vocml, scikit-learn or spaCy versions,
instead of unpickling it (joblib files are pickles: only load files we wrote).

``inference.npz`` holds the pipeline's fitted numbers as plain arrays (:class:`~vocml.compiled.CompiledModel`):
predictions come from it, so loading a model imports neither scikit-learn nor unpickles anything;
the joblib pipeline is loaded (after the same checks) only when something asks for it.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import TYPE_CHECKING

from vocml import __version__
from vocml.card import ModelCard
from vocml.compiled import CompiledModel
from vocml.cues import registry_digest
from vocml.errors import ModelArtifactError
from vocml.model import Classifier

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

PIPELINE_FILE = "pipeline.joblib"
COMPILED_FILE = "inference.npz"
CARD_FILE = "card.json"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def runtime_versions() -> dict[str, str]:
    """The library versions a bundle must match (read from the installed packages' metadata, so
    checking a bundle imports neither library)."""
    return {"vocml": __version__, "sklearn": installed_version("scikit-learn"), "spacy": installed_version("spacy")}


def numeric_versions() -> dict[str, str]:
    """The numeric libraries a fit depends on: the same data and recipe give the same model bit for bit
    only with these versions (another numpy or scipy may move the solver's optimum within its tolerance)."""
    return {"numpy": installed_version("numpy"), "scipy": installed_version("scipy")}


def now_iso() -> str:
    """Current UTC time, ISO formatted to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def save_bundle(pipeline: Pipeline, card: ModelCard, out_dir: str | os.PathLike[str]) -> ModelCard:
    """Write the pipeline and its card to ``out_dir``; return the card with the joblib sha256 filled in."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    import joblib

    joblib_path = out / PIPELINE_FILE
    joblib.dump(pipeline, joblib_path, compress=3)
    from vocml.compile import compile_pipeline

    compiled_path = out / COMPILED_FILE
    compiled = compile_pipeline(pipeline)
    compiled.save(compiled_path)
    card = ModelCard(
        **{
            **card.to_dict(),
            "pipeline_sha256": sha256_file(joblib_path),
            "inference_sha256": sha256_file(compiled_path),
            "cues_sha256": registry_digest(compiled.cue_names),
        }
    )
    write_card(card, out)
    return card


def write_card(card: ModelCard, out_dir: str | os.PathLike[str]) -> None:
    """(Re)write ``card.json`` in ``out_dir``."""
    path = Path(out_dir) / CARD_FILE
    path.write_text(json.dumps(card.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read_card(model_dir: str | os.PathLike[str]) -> ModelCard:
    """Read and parse ``card.json``; raise :class:`ModelArtifactError` if missing or malformed."""
    path = Path(model_dir) / CARD_FILE
    if not path.is_file():
        raise ModelArtifactError(f"no model card at {path}; train a model with `vocml train`")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ModelCard(**raw)
    except (json.JSONDecodeError, TypeError) as e:
        raise ModelArtifactError(f"model card {path} is unreadable ({e}); retrain with `vocml train`") from e


def default_model_dir() -> Path:
    """``$VOCML_MODEL_DIR``, else the newest version under the repository's ``models/``."""
    env = os.environ.get("VOCML_MODEL_DIR")
    if env:
        return Path(env)
    if not MODELS_DIR.is_dir():
        raise ModelArtifactError(f"no models directory at {MODELS_DIR}; set VOCML_MODEL_DIR or run `vocml train`")
    versions = sorted(
        (p for p in MODELS_DIR.iterdir() if (p / CARD_FILE).is_file()),
        key=lambda p: _version_key(p.name),
    )
    if not versions:
        raise ModelArtifactError(f"no model under {MODELS_DIR}; run `vocml train`")
    return versions[-1]


def _version_key(name: str) -> tuple[int, ...]:
    parts = name.lstrip("v").split(".")
    return tuple(int(p) if p.isdigit() else -1 for p in parts)


def check_bundle(directory: str | os.PathLike[str]) -> ModelCard:
    """Every check :func:`load_model` makes before unpickling: card, library versions, sha256.

    Returns the card. Raises :class:`ModelArtifactError` naming the problem and the fix.
    """
    directory = Path(directory)
    card = read_card(directory)
    runtime = runtime_versions()
    for lib, running in runtime.items():
        built = getattr(card, lib)
        if built != running:
            raise ModelArtifactError(
                f"model {directory} was trained with {lib} {built}, running {running}; "
                f"install {lib}=={built} or retrain with `vocml train`"
            )
    _check_file(directory / PIPELINE_FILE, card.pipeline_sha256, "unpickle")
    return card


def _check_file(path: Path, sha256: str, action: str) -> None:
    """Raise :class:`ModelArtifactError` unless ``path`` exists with the card's ``sha256``."""
    if not path.is_file():
        raise ModelArtifactError(f"{path} is missing; retrain with `vocml train`")
    actual = sha256_file(path)
    if actual != sha256:
        raise ModelArtifactError(
            f"{path} does not match its card (sha256 {actual[:12]}…, card says "
            f"{sha256[:12]}…); refusing to {action} it. Restore the file or retrain with `vocml train`"
        )


def load_model(model_dir: str | os.PathLike[str] | None = None, *, threshold: float | None = None) -> Classifier:
    """Load a model bundle after checking its card.

    Args:
        model_dir: a ``models/<version>`` directory; the shipped model when ``None``.
        threshold: override the card's uncertainty threshold.

    Raises:
        ModelArtifactError: missing files, a hash mismatch or library versions that differ.
    """
    directory = Path(model_dir) if model_dir is not None else default_model_dir()
    card = check_bundle(directory)
    threshold = card.threshold if threshold is None else threshold
    compiled_path = directory / COMPILED_FILE
    if not card.inference_sha256:
        raise ModelArtifactError(
            f"model {directory} has no compiled numbers ({COMPILED_FILE}); retrain with `vocml train`"
        )
    _check_file(compiled_path, card.inference_sha256, "load")
    try:
        compiled = CompiledModel.load(compiled_path)
    except (OSError, KeyError, ValueError) as e:
        raise ModelArtifactError(f"{compiled_path} is unreadable ({e}); retrain with `vocml train`") from e
    if card.cues_sha256 and card.cues_sha256 != registry_digest(compiled.cue_names):
        raise ModelArtifactError(
            f"model {directory} was trained with other cue phrases than vocml/cues.toml now holds; "
            "restore the registry the model was trained with, or retrain with `vocml train`"
        )
    return Classifier(
        card=card, threshold=threshold, compiled=compiled, load_pipeline=lambda: _load_pipeline(directory, card)
    )


def _load_pipeline(directory: Path, card: ModelCard) -> Pipeline:
    """Unpickle the bundle's pipeline, checking its file against the card again first."""
    import joblib

    check_bundle(directory)
    return joblib.load(directory / PIPELINE_FILE)  # type: ignore[no-any-return]
