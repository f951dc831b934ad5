"""The Swedish harm classifier: dataset, tokenizer, pretraining, fine-tuning, scoring and evaluation.

Modules, in the order of the work: ``dataset`` (parts -> splits), ``corpus_negatives`` (official-text hard
negatives), ``tokenizer`` and ``pretrain`` (a small BERT from scratch), ``augment`` and ``finetune``
(labels, calibration, thresholds), ``model_dir`` (the directory format), ``predict`` (scores), ``analyzer``
(verdicts for the flow), ``metrics``/``report``/``jobs`` (``vaktpost classify`` and ``evaluate``).
"""
