"""The model bundles shipped with cleanclf (installed as ``cleanclf.bundles``).

Each subdirectory is a bundle: ``manifest.json`` plus the files it hashes.
:func:`cleanclf.models.models_root` finds this folder with
``importlib.resources``; nothing here is imported for its code.
"""
