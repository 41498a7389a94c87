"""Service items (§7.1): the catalogue, its lifecycle, and the citizen flows built on it.

``catalogue`` describes an item with the standard's elements (§7.1.1); ``lifecycle`` is the
add / change / revoke workflow (§7.1.2) as pure functions over a ``Ledger``; ``registry``
keeps that ledger in SQLite and is what other subsystems call (``runtime.items``).
"""
