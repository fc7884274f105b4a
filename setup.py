"""Package layout only; everything else is in pyproject.toml.

The model bundles ship inside the distribution: the top-level ``models/``
folder *is* the subpackage ``cleanclf.bundles`` (``models/__init__.py``), which
the library finds with ``importlib.resources`` -- in a wheel, an sdist install
and an editable install alike (setuptools' editable finder maps
``cleanclf.bundles`` to ``models/``), so the library never computes a
repository path. ``pyproject.toml`` cannot combine automatic package discovery
under ``src/`` with this one extra mapping, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src"), "cleanclf.bundles"],
    package_dir={"": "src", "cleanclf.bundles": "models"},
)
