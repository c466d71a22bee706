"""Experiment tracking: runs with their params, metrics, tags, artifacts and context.

The public API is at the top of the package (``mo.start_run``, ``mo.log_metric``,
``mo.list_runs``, ...). Modules: ``runs`` opens runs and logs into them,
``buffer`` batches metric points, ``context`` captures what a run ran on,
``artifacts`` turns logged objects into stored bytes, ``autolog`` hooks
estimators, ``filters`` parses the runs filter language, ``reading`` lists,
shows and compares runs, ``views`` renders them.
"""
