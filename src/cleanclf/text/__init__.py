"""Text side of cleanclf: normalisation, contact handles, tokens and lexicons.

Kept tiny on purpose: importing :mod:`cleanclf.text` loads no table, no jieba
dictionary and compiles no regex. Import the submodule you need::

    >>> from cleanclf.text.normalize import normalize
    >>> normalize("加-薇 ABC123")
    '加微信 abc123'
"""
