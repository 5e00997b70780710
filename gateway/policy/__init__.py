"""The policy core: pure functions and classes, no storage, network, templates or CLI.

Everything here takes the clock (an instant) as an argument, so it can be tested in
microseconds and a replay after an outage decides the same way.
"""
