"""Service items (§7.1): the catalogue and its lifecycle.

``catalogue`` describes an item with the standard's elements (§7.1.1); ``lifecycle`` is the
add / change / revoke workflow (§7.1.2) as pure functions over a ``Ledger``; ``registry``
keeps that ledger in SQLite and is what the session, ops and ``Items1`` are handed;
``loader`` reads it as the daemon starts. The citizen's journey is ``govkiosk.session``.
"""
