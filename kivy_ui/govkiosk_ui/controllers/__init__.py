"""The app's parts that follow one side of the daemon each, behind :class:`~.frame.Frame`.

Each controller reads what it shows (at start and whenever the daemon returns), offers
its signal routes for the app's :class:`~govkiosk_ui.signals.SignalTable`, and reaches
the screens only through the frame: none of them imports the app.
"""
