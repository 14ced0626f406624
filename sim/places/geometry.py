"""The MSOAs' shapes (December 2021 boundaries, super generalised, WGS84; ``data/msoa2021/``): outlines to draw,
centroids, areas and the distances between MSOAs, in kilometres on a local flat projection (equirectangular about
the area's mean latitude: within one local authority its error is well under 1%)."""

from __future__ import annotations

import dataclasses
import functools
import json
import math

import numpy as np

from sim.places import DATA, places

EARTH_KM = 6371.0088  # mean Earth radius (IUGG)


@dataclasses.dataclass(frozen=True)
class Shapes:
    """Each MSOA's polygons (a list of exterior rings, lon/lat arrays) in the order of ``places(...).codes``."""

    rings: tuple  # per MSOA: tuple of (k, 2) arrays of lon, lat (exterior rings; holes are not drawn)
    centroid: np.ndarray  # MSOAs x (x, y) in km from the area's reference point (east, north)
    area_km2: np.ndarray
    lon0: float
    lat0: float

    def km(self, lonlat: np.ndarray) -> np.ndarray:
        """Points (lon, lat) to the area's flat km frame."""
        lonlat = np.asarray(lonlat, dtype=float)
        k = math.pi / 180 * EARTH_KM
        return np.column_stack([(lonlat[:, 0] - self.lon0) * k * math.cos(math.radians(self.lat0)),
                                (lonlat[:, 1] - self.lat0) * k])

    def distances(self) -> np.ndarray:
        """MSOAs x MSOAs: km between centroids."""
        d = self.centroid[:, None, :] - self.centroid[None, :, :]
        return np.sqrt((d**2).sum(axis=2))

    def msoa_of(self, lonlat: np.ndarray) -> np.ndarray:
        """The MSOA (index) each point lies in, or -1 outside all of them."""
        from matplotlib.path import Path  # (matplotlib is a dependency already; imported only when asked)

        pts = np.asarray(lonlat, dtype=float)
        out = np.full(len(pts), -1, dtype=np.int64)
        for i, rings in enumerate(self.rings):
            for ring in rings:
                inside = Path(ring).contains_points(pts) & (out < 0)
                out[inside] = i
        return out


def _shoelace(xy: np.ndarray) -> tuple[float, np.ndarray]:
    """Signed area and centroid of one ring."""
    x, y = xy[:, 0], xy[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    a = cross.sum() / 2
    if a == 0:
        return 0.0, xy.mean(axis=0)
    return a, np.array([((x + x1) * cross).sum(), ((y + y1) * cross).sum()]) / (6 * a)


@functools.lru_cache(maxsize=8)
def shapes(ons_code: str) -> Shapes:
    codes = places(ons_code).codes
    with open(DATA / "msoa21_boundaries_bsc_wgs84.geojson") as f:
        features = {ft["properties"]["code"]: ft["geometry"] for ft in json.load(f)["features"]}
    rings = []
    for c in codes:
        g = features[c]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        rings.append(tuple(np.asarray(p[0], dtype=float) for p in polys))
    allpts = np.concatenate([r for rs in rings for r in rs])
    lon0, lat0 = float(allpts[:, 0].mean()), float(allpts[:, 1].mean())
    frame = Shapes(rings=tuple(rings), centroid=np.zeros((0, 2)), area_km2=np.zeros(0), lon0=lon0, lat0=lat0)
    cents, areas = [], []
    for rs in rings:
        parts = [_shoelace(frame.km(r)) for r in rs]
        total = sum(abs(a) for a, _ in parts)
        cents.append(sum(abs(a) * c for a, c in parts) / total)
        areas.append(total)
    return dataclasses.replace(frame, centroid=np.array(cents), area_km2=np.array(areas))
