"""Outbound: render templates, compose messages, queue them in the outbox, deliver them.

Knows nothing of intake. The pipeline and the timed work call :func:`outbox.enqueue`
inside their own transaction; the sender task delivers what was committed.
"""
