"""The site's maps in one namespace: the static figures and the interactive map's data.

The pages and the README call everything ``maps.…``; the code lives in two modules by
weight: :mod:`._mapdata` (shapes, compact geometry, Leaflet; no matplotlib) and
:mod:`._figures` (matplotlib figures drawn on those shapes).
"""

from __future__ import annotations

from . import _figures, _mapdata
from ._figures import *  # noqa: F403
from ._mapdata import *  # noqa: F403

__all__ = [*_mapdata.__all__, *_figures.__all__]
