"""Inside GlusterFS: what runs in a glusterfs or glusterfsd process that loads the bridge.

``driver`` runs fops as coroutines and winds and unwinds them through the bridge;
``loader`` finds and reloads translator classes; ``control`` is the per-process
control socket; ``procstatus`` answers what the process runs; ``security`` decides
which code paths root may load.
"""
