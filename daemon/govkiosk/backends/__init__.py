"""Department backends: where a service item's document comes from (§5.2 跨省通办, §7.1).

``base`` is the interface the flow engine calls (:class:`~.base.Backend`), ``routing``
chooses a backend by item and region (the route table is how cross-province items reach
another region's platform), ``http`` is the signed JSON-over-HTTP adapter, ``signing``
the request signature both ends share. ``demo_service`` (with ``demo_data``,
``certificate`` and ``demo_authority``) is a department service for the demo and the
tests: synthetic records, certificate PDFs sealed by a demo seal authority.
"""
