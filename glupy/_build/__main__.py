import argparse
import sys

from glupy._build.build import build, build_core, target_release
from glupy._build.release import UnsupportedGlusterFS

parser = argparse.ArgumentParser(prog="python -m glupy._build",
                                 description="Compile glupy._core in place and the glupy bridge (features/glupy xlator).")
parser.add_argument("-v", "--verbose", action="store_true")
args = parser.parse_args()
try:
    target_release()  # missing or unsupported GlusterFS headers: said before compiling anything
    print(build_core(verbose=args.verbose))
    print(build(verbose=args.verbose))
except UnsupportedGlusterFS as e:
    sys.exit(f"glupy: cannot build the bridge: {e}")
