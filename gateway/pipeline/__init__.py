"""The pipeline: one stage per file, run in order on one stored message, in one transaction.

``runner.py`` claims a stored message, runs the chain (``chain.py``) and records the
outcome; the commit is the acknowledgement, so a replay after a crash is a no-op.
"""
