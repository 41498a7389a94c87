"""``govkioskctl``: every command-line tool of the project in one package.

``main`` parses the command line and looks at the daemon (``status``, ``devices``);
``items``, ``sim``, ``backup`` and ``fleet`` are its subcommands; ``output`` prints
tables and plain values for all of them.
"""
