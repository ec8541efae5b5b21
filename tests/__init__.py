"""The test suite.

Python writes the bytecode of what the suite imports (the project's modules, and pytest its rewritten
test modules) to the __pycache__ folders that .gitignore leaves out, even where PYTHONDONTWRITEBYTECODE
is set (some container images and CI machines set it): there, each run compiled every module again and
pytest rewrote the asserts of every test module again, in each xdist worker, which collects the whole
suite (collecting it took 14.5 s, 3.3 s with the bytecode kept). This package is imported before its
conftest.py.
"""

import sys

sys.dont_write_bytecode = False
