"""govkiosk: the platform daemon of a government-service self-service kiosk."""

__version__ = "0.1.0"
