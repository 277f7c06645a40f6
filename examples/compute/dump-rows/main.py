"""An 'analysis' that prints the raw rows: what a provider must not approve (the demo rejects it)."""

import os
import shutil

shutil.copyfile(os.environ["TDS_INPUT"], os.environ["TDS_OUTPUT"])
