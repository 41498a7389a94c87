"""好差评 and usage counts: how citizens rate a finished service, and how often each item ran.

Only aggregated counts are kept (§8 d): per day and item, sessions by outcome and
evaluations by level and reason — no session id, no time finer than the day, nothing
about the citizen.
"""
