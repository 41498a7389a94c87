"""The 2nd-generation resident ID card reader (§6.2): the SAM module's frame protocol.

``protocol`` (frames, commands, SW3 status), ``cardtext`` (the 256-byte text block of
resident cards, HK/Macao/Taiwan residence permits and foreign permanent-resident cards),
``driver`` (the supervised reader service), ``sim`` (the reader's end of the wire).
``subsystem`` exports the ``cn.govkiosk.IdCard1`` D-Bus interface.
"""
