"""The disguise generator of the benchmarks and of training augmentation, which lives in the library
since the text model trains on disguised copies (``cleanclf.text.perturb``); this module keeps the
benchmarks' ``import perturb`` working. The independent adversary of issue 21 is ``adversary.py``."""

from cleanclf.text.perturb import *  # noqa: F401,F403
from cleanclf.text.perturb import __all__  # noqa: F401
