"""ticket-gateway: a support mailbox turned into prepaid per-incident tickets.

The flow, socket to acknowledgement (see ``docs/flow.md``)::

    ingest/ (LMTP, SMTP, IMAP, CLI)  -> store raw bytes durably, answer 250
    pipeline/ (one stage per file)   -> parse, classify, thread, charge, open
    policy/ (pure: calendar, ledger arithmetic, rules, splitting)
    store/ (models, migrations, repositories)
    outbound/ (render templates, outbox, sender)
    cli/ and daemon.py               -> the faces that wire the parts together
"""
