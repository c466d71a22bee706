"""Moving history between nbmlops and other tools: MLflow tracking stores, both ways.

``mo.interop.export_mlflow(to=...)`` and ``mo.interop.import_mlflow(uri)``; the
``mlops export mlflow`` and ``mlops import mlflow`` commands call them. MLflow is
imported only when one of them runs.
"""

from __future__ import annotations

from .mlflow_client import MlflowTransfer
from .mlflow_export import export_mlflow
from .mlflow_import import import_mlflow

__all__ = ["MlflowTransfer", "export_mlflow", "import_mlflow"]
