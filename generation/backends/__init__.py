"""fedigen's own image backends, each registered in the ``fedigen.backends`` entry-point group."""
