"""Use cases (collect, process, look up, undo a merge, manage keys) over the ports."""
