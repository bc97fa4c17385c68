"""The contract suite: pass or fail any implementation of the ChildrenBooks API v1."""
