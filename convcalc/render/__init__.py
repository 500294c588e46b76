"""Renderers: every format iterates the one column registry in `columns`."""
