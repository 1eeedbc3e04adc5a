"""The relationship map (关联图谱): a networkx ego graph around one subject, and GraphML."""

from engine.graphmap.ego import (
    MAX_DEPTH,
    MAX_EDGES,
    MAX_NODES,
    relationship_graphml,
    relationship_map,
)

__all__ = ["MAX_DEPTH", "MAX_EDGES", "MAX_NODES", "relationship_graphml", "relationship_map"]
