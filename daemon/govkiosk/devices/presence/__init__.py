"""Human presence sensor (§6.2 人体感应): is somebody standing at the kiosk?

Two kinds of sensor: the HLK-LD2410 mmWave radar (binary frames, :mod:`.ld2410`) and
simple sensors that print one token per line (:mod:`.tokens`). The driver debounces
their readings into :class:`~.events.PersonArrived` / :class:`~.events.PersonLeft`,
which wake the UI from its attract screen and end a session when the citizen walks
away. Only presence leaves this package: no images, no identities.
"""
