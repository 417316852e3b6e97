"""Ready-made translators: ``glupy mount -t glupy.library.<name>``."""
