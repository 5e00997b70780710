"""Intake: SMTP/LMTP listener, IMAP reader, CLI ``ingest``. Stores raw bytes and hands on.

Intake never decides policy. It stores the message durably with the instant it arrived
(the logged time), answers the sender, and wakes the pipeline.
"""
