"""Keeping a store sound: ``integrity`` (fsck and gc), ``audit`` (the audit log and its
verification), ``transfer`` (copying a workspace to other backends) and
``reachability`` (every kind of reference from the metadata to the objects, which
fsck and gc walk). The public API is at the top of the package (``mo.fsck``,
``mo.gc``, ``mo.audit_log``, ``mo.verify_audit``).
"""
