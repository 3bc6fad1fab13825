"""Style transfer on top of trained models: batching and decoding of transfers, the rerankers
(style classifier, cycle reconstruction, language model) and the interactive session.

Models say how to decode a batch in a target style (``Model.transfer_plan``) and give the scores
a reranker needs (``Model.rerank_scorers``); this package does the rest, for every model alike.
"""

from textvae.transfer.batch import transfer_sentences

__all__ = ["transfer_sentences"]
