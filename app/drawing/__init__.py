"""The model's graph drawn for the report page: layers as nodes, `inbound` as edges, nested
models and repeated blocks (`conv2_block1_…`) as groups, laid out by Graphviz `dot` as SVG.

`topology` finds the groups and the edges from the report's layers, `dot` writes one view
(a group's own layers, its sub-groups folded) in the DOT language, `svg` runs `dot` and
prepares its SVG for the page, `drawing` draws every view of a report at once (what the store
keeps). Nothing here imports Keras: the report's layers say all a drawing needs.
"""
