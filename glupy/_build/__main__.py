import argparse
import sys

from glupy._build.build import build
from glupy._build.release import UnsupportedGlusterFS

parser = argparse.ArgumentParser(prog="python -m glupy._build",
                                 description="Compile the glupy bridge (features/glupy xlator).")
parser.add_argument("-v", "--verbose", action="store_true")
args = parser.parse_args()
try:
    print(build(verbose=args.verbose))
except UnsupportedGlusterFS as e:
    sys.exit(f"glupy: cannot build the bridge: {e}")
