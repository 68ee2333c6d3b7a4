"""A fake ONS ArcGIS layer on the loopback test server, for the download path."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
from werkzeug import Request, Response

from iod_msoa._manifest import MANIFEST, Source


def serve_layer(httpserver, name: str, rows: pd.DataFrame, **changes: object) -> Source:
    """Serve ``rows`` (ONS field names) as a paged ArcGIS layer at ``/<name>/...``; the
    manifest entry for ``name`` pointed at it, with ``changes`` (small pages, row check)."""
    features = [{"attributes": r} for r in rows.rename(columns=str.upper).to_dict("records")]

    def handler(request: Request) -> Response:
        if request.args.get("returnCountOnly") == "true":
            return Response(json.dumps({"count": len(features)}), content_type="application/json")
        offset, size = int(request.args["resultOffset"]), int(request.args["resultRecordCount"])
        page: dict[str, object] = {"features": features[offset : offset + size]}
        if offset + size < len(features):
            page["exceededTransferLimit"] = True
        return Response(json.dumps(page), content_type="application/json")

    path = f"/{name}/FeatureServer/0/query"
    httpserver.expect_request(path).respond_with_handler(handler)
    return dataclasses.replace(MANIFEST[name], url=httpserver.url_for(path), **changes)
