"""The metadata tables: one SQLAlchemy Core schema for SQLite and PostgreSQL.

Times are epoch seconds (``Double``); JSON documents are ``Text``; object
references are BLAKE3 hex digests. A change to anything here ships as a new
Alembic migration in ``store/migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")
DIGEST = 64

# ---------------------------------------------------------------- tracking

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),  # run | job | sweep
    Column("status", String(16), nullable=False),  # RUNNING | FINISHED | FAILED | KILLED
    Column("parent_id", String(32), ForeignKey("runs.id"), index=True),
    Column("username", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer),
    Column("pid_start", Double),  # process start time, so a reused pid is not mistaken for ours
    Column("start_time", Double, nullable=False, index=True),
    Column("end_time", Double),
    Column("heartbeat", Double),
    Column("notes", Text, nullable=False),
    Column("context", Text),  # JSON: notebook, git, packages, host, resources
    Column("error", Text),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),  # display text
    Column("value_json", Text),  # the JSON value when it round-trips
    Column("value_num", Double),  # set for numbers, so filters compare numerically
    Column("note", String(255)),  # e.g. "stored as repr(): not JSON-serialisable"
    Index("ix_params_key_num", "key", "value_num"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Double),  # NULL stands for NaN (SQLite cannot store NaN)
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Double, nullable=False),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Double),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("count", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("digest", String(DIGEST), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=False),
    Column("created_at", Double, nullable=False),
)

package_sets = Table(
    "package_sets",
    metadata,
    Column("digest", String(DIGEST), primary_key=True),
    Column("packages", Text, nullable=False),  # JSON list of "name==version"
    Column("created_at", Double, nullable=False),
)

# ---------------------------------------------------------------- data

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # table | files
    Column("created_at", Double, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("description", Text, nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(DIGEST), nullable=False, index=True),  # content digest
    Column("manifest", String(DIGEST), nullable=False),  # object holding the manifest
    Column("rows", BigInteger),
    Column("columns", Integer),
    Column("bytes_total", BigInteger, nullable=False),
    Column("bytes_added", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    Column("author", String(255), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("run_id", String(32), ForeignKey("runs.id")),
    UniqueConstraint("dataset_id", "version"),
)

dataset_tags = Table(
    "dataset_tags",
    metadata,
    Column("dataset_id", Integer, ForeignKey("datasets.id"), primary_key=True),
    Column("tag", String(255), primary_key=True),
    Column("version_id", Integer, ForeignKey("dataset_versions.id"), nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("updated_by", String(255), nullable=False),
)

lineage = Table(
    "lineage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False, index=True),
    Column("direction", String(8), nullable=False),  # input | output
    Column("entity_type", String(16), nullable=False),  # dataset_version | model_version
    Column("entity_id", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("run_id", "direction", "entity_type", "entity_id"),
    Index("ix_lineage_entity", "entity_type", "entity_id"),
)

# ---------------------------------------------------------------- registry

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", Double, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("requires_approval", Boolean, nullable=False),
    Column("gates", Text, nullable=False),  # JSON list of gate expressions
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("artifact", String(DIGEST), nullable=False),
    Column("format", String(16), nullable=False),  # skops | joblib | pickle
    Column("flavor", String(64), nullable=False),  # e.g. sklearn
    Column("class_name", String(255), nullable=False),  # module.Class of the model object
    Column("size", BigInteger, nullable=False),
    Column("signature", Text),  # JSON
    Column("run_id", String(32), ForeignKey("runs.id")),
    Column("metrics", Text, nullable=False),  # JSON
    Column("params", Text, nullable=False),  # JSON
    Column("data", Text, nullable=False),  # JSON list of dataset version refs
    Column("context", Text),  # JSON code context
    Column("description", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", String(255), nullable=False),
    UniqueConstraint("model_id", "version"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version_id", Integer, ForeignKey("model_versions.id"), nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("updated_by", String(255), nullable=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # see evaluations.KINDS
    Column("model_version_id", Integer, ForeignKey("model_versions.id"), index=True),
    Column("run_id", String(32), ForeignKey("runs.id"), index=True),
    Column("subject", Text, nullable=False),  # JSON: what was evaluated (refs)
    Column("summary", Text, nullable=False),  # JSON: headline numbers
    Column("report", String(DIGEST)),  # object holding the full report
    Column("passed", Boolean),
    Column("created_at", Double, nullable=False),
    Column("created_by", String(255), nullable=False),
)

# request | approve | reject | promote | demote | alias | unalias
model_transitions = Table(
    "model_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", Integer, ForeignKey("model_versions.id"), nullable=False, index=True),
    Column("alias", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | refused | approved | rejected
    Column("request_id", Integer, ForeignKey("model_transitions.id")),
    Column("evaluation_id", Integer, ForeignKey("evaluations.id")),
    Column("username", String(255), nullable=False),
    Column("at", Double, nullable=False),
    Column("note", Text, nullable=False),
)

# ---------------------------------------------------------------- monitoring

monitors = Table(
    "monitors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("model_ref", String(255)),
    Column("reference_ref", Text, nullable=False),  # a pinned dataset version or a file path
    Column("config", Text, nullable=False),  # JSON thresholds and window
    Column("policy", Text, nullable=False),  # JSON retraining policy
    Column("created_at", Double, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("updated_at", Double, nullable=False),
)

monitor_results = Table(
    "monitor_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor_id", Integer, ForeignKey("monitors.id"), nullable=False, index=True),
    Column("at", Double, nullable=False),
    Column("status", String(8), nullable=False),  # OK | WARN | ALERT
    Column("reasons", Text, nullable=False),  # JSON list of sentences
    Column("data_ref", Text, nullable=False),
    Column("evaluation_id", Integer, ForeignKey("evaluations.id")),
    Column("metrics", Text, nullable=False),  # JSON
    Column("actions", Text, nullable=False),  # JSON list of what was done and why
)

# ---------------------------------------------------------------- jobs

jobs = Table(
    "jobs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("mode", String(16), nullable=False),  # run | sweep | validation | reproduction
    Column("notebook", Text, nullable=False),  # absolute path when it ran
    Column("notebook_digest", String(DIGEST), nullable=False),  # object: the notebook as executed
    Column("kernel", String(255), nullable=False),
    Column("cwd", Text),
    Column("output_digest", String(DIGEST)),  # object: the executed notebook (also an artifact)
    Column("parameters", Text, nullable=False),  # JSON: the parameters passed (not the defaults)
    Column("data_refs", Text, nullable=False),  # JSON: parameter -> data version it resolved to
    Column("spec", Text),  # JSON: a sweep's grid / random search, metric and goal
    Column("executor", String(255), nullable=False),
    Column("sweep_id", String(32), ForeignKey("runs.id"), index=True),
    Column("point", Integer),  # index of the point within its sweep
    Column("attempt", Integer, nullable=False),  # 1, then 2... for retries (each attempt is a run)
    Column("reproduces", String(32), ForeignKey("runs.id"), index=True),
    Column("validated", Boolean, nullable=False),
    Column("checks", Text),  # JSON: a validation's checks
    Column("warnings", Text, nullable=False),  # JSON list of sentences
    Column("timeout", Double),  # seconds per cell
    Column("error_cell", Integer),  # index of the failing cell in the executed notebook
    Column("error_count", Integer),  # its execution count (In [n])
    Column("error", Text),
)

# ---------------------------------------------------------------- audit

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(40), nullable=False),
    Column("username", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", String(255), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(DIGEST), nullable=False),
    Column("hash", String(DIGEST), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(DIGEST), nullable=False),
)
