import argparse

from glupy._build.build import build

parser = argparse.ArgumentParser(prog="python -m glupy._build",
                                 description="Compile the glupy bridge (features/glupy xlator).")
parser.add_argument("-v", "--verbose", action="store_true")
args = parser.parse_args()
print(build(verbose=args.verbose))
