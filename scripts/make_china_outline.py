"""Make ``counties/data/china/provinces.json``, the outline of China's provinces the county maps draw.

Source: ``map/json/china.json`` of the npm package ``echarts`` 4.9.0 (Apache-2.0; Apache ECharts, the Apache
Software Foundation), whose coordinates are packed in echarts' own encoding. This decodes them, simplifies
each ring (Douglas–Peucker, TOLERANCE degrees), leaves out islands smaller than MIN_AREA square degrees
(each province keeps its largest ring) and rounds to two decimals (about 1 km), so the file is small enough
to read on every start. Run by hand, once: the output is committed and never fetched at run time.

    npm pack echarts@4.9.0 && tar xzf echarts-4.9.0.tgz
    python scripts/make_china_outline.py package/map/json/china.json > counties/data/china/provinces.json
"""

import json
import sys

TOLERANCE = 0.1
MIN_AREA = 0.05


def decode_ring(encoded: str, offsets, scale: float = 1024) -> list[tuple[float, float]]:
    """echarts' ``decodePolygon``: zigzag-encoded deltas, two characters a point."""
    points, x0, y0 = [], offsets[0], offsets[1]
    for i in range(0, len(encoded), 2):
        x, y = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x, y = (x >> 1) ^ -(x & 1), (y >> 1) ^ -(y & 1)
        x0, y0 = x0 + x, y0 + y
        points.append((x0 / scale, y0 / scale))
    return points


def simplify(points, tolerance):
    """Douglas–Peucker, iterative."""
    if len(points) < 3:
        return points
    keep = {0, len(points) - 1}
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        length = (dx * dx + dy * dy) ** 0.5
        best, index = 0.0, None
        for i in range(first + 1, last):
            px, py = points[i]
            if length:
                distance = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / length
            else:
                distance = ((px - x1) ** 2 + (py - y1) ** 2) ** 0.5
            if distance > best:
                best, index = distance, i
        if index is not None and best > tolerance:
            keep.add(index)
            stack += [(first, index), (index, last)]
    return [points[i] for i in sorted(keep)]


def area(points) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))) / 2


def main(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    provinces = []
    for feature in data["features"]:
        geometry, properties = feature["geometry"], feature["properties"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        offsets = geometry["encodeOffsets"] if geometry["type"] == "MultiPolygon" else [geometry["encodeOffsets"]]
        rings = []
        for polygon, polygon_offsets in zip(polygons, offsets, strict=True):
            outer = decode_ring(polygon[0], polygon_offsets[0])  # holes are left out: none shows at this scale
            rings.append(outer)
        rings.sort(key=area, reverse=True)
        kept = [rings[0]] + [r for r in rings[1:] if area(r) >= MIN_AREA]
        out = []
        for ring in kept:
            small = simplify(ring, TOLERANCE)
            rounded = []
            for x, y in small:
                point = [round(x, 2), round(y, 2)]
                if not rounded or rounded[-1] != point:
                    rounded.append(point)
            if len(rounded) >= 4:
                out.append(rounded)
        provinces.append({"code": properties["id"], "name": properties["name"], "rings": out})
    provinces.sort(key=lambda p: p["code"])
    document = {
        "source": "map/json/china.json of the npm package echarts 4.9.0, simplified by scripts/make_china_outline.py",
        "licence": "Apache-2.0 (see LICENSE and NOTICE beside this file)",
        "provinces": provinces,
    }
    json.dump(document, sys.stdout, ensure_ascii=False, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
