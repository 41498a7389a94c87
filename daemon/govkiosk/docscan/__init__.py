"""The document camera (高拍仪, §6.2 b): a page on the desk turned into a legible scan.

Pure image processing, no D-Bus, no session: :mod:`.page` finds the page, :mod:`.stillness`
says when it has settled, :mod:`.rectify` straightens, whitens and encodes it, :mod:`.pdf`
wraps the JPEG in a one-page PDF, :mod:`.synthetic` draws desks with pages of known corners.
Page images stay in memory (§8 d).
"""
