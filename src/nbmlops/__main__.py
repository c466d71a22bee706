"""``python -m nbmlops`` is the ``mlops`` command."""

from .cli import main

main()
