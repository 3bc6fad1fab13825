"""``model.type: classifier``: a sentence style classifier trained on its own (reranking and rewards)."""

from textvae.models.classifier.config import ClassifierConfig
from textvae.models.classifier.model import SentenceClassifier, check_scorer

__all__ = ["ClassifierConfig", "SentenceClassifier", "check_scorer"]
