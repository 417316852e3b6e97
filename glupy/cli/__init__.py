"""The ``glupy`` command (``commands``), with ``glupy new`` (``scaffold``) and
``glupy check`` (``check``)."""
