"""The bus faces: each feature's D-Bus interface and how it joins the daemon.

One module per feature. Each holds the feature's ``cn.govkiosk.*1`` interface and an
``install(runtime, …)`` that builds the feature from the runtime's plumbing and
configuration, adds its services to the supervisor and exports its interface. Features
never import this package; this package is the one place that knows them all.

Modules here omit ``from __future__ import annotations``: dbus-next reads the D-Bus
signatures (``'a(ssus)'``) from the annotations themselves.
"""
