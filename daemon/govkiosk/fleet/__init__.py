"""The operator's side of remote operations (§8): what ops staff run, never a kiosk.

``client`` sends signed commands to kiosks and follows their state over MQTT, ``pki``
makes a site's CA and certificates, ``sitebroker`` writes a site broker's TLS settings.
``metrics``, ``exposition``, ``exporter`` and ``settings`` are ``fleet serve``: the fleet's
numbers for Prometheus (docs/fleet-metrics.md).
The fleet command line is ``govkiosk.cli.fleet``; the kiosk's side is ``govkiosk.ops``.
"""
