"""Loading and validating the policy data in ``rules/*.toml``.

The policy core (``gateway.policy``) is pure and takes parsed data; this package reads the
files, checks every key and rule, and raises ConfigError naming the file and the rule.
"""
