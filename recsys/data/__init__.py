"""MovieLens data: reading every release, raw ids <-> rows, titles, and the evaluation splits."""
