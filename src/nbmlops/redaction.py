"""Hide passwords and secrets in URLs and in any text that contains them.

Everything nbmlops prints, logs or stores about a connection goes through :func:`redact`.
"""

from __future__ import annotations

import re

_SECRET_QUERY = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|key|access_key|secret_key|sig|signature)=)([^&\s]+)"
)
_SECRET_NAME = re.compile(r"(?i)password|passwd|secret|token|key|credential")
_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@"
)


def redact(text: str) -> str:
    """Hide passwords and secrets in URLs (and in any text that contains URLs).

    Example:
        >>> redact("postgresql+psycopg://ada:s3cret@db:5432/mlops")
        'postgresql+psycopg://ada:***@db:5432/mlops'
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _SECRET_QUERY.sub(r"\1***", text)


def is_secret_name(name: str) -> bool:
    """Whether an option name (``aws_secret_access_key``, ``token``) holds a secret.

    Example:
        >>> is_secret_name("secret"), is_secret_name("endpoint_url")
        (True, False)
    """
    return bool(_SECRET_NAME.search(name))
