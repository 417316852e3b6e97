"""GlusterFS run locally, without glusterd: single-process FUSE graphs (``process``),
brick processes (``brick``), their shared lifecycle (``daemon``), volfiles as data
(``volfile``) and libgfapi (``gfapi``)."""
