/* The interactive maps and tables of notebooks/explore.qmd (MSOAs) and notebooks/areas.qmd
 * (any geography built from LSOAs).
 *
 * Reads the JSON written by iod_msoa._mapdata.explore_data from <script id="<id>-data">,
 * draws every area once with Leaflet's canvas renderer and recolours the same polygons when
 * another index, domain or sub-domain is chosen. The table below the map reads the same
 * data (no second copy in the page), follows the chosen measure, and a click on a row
 * zooms the map to that area. With a geography switch (areas()), each geography's data is
 * a script loaded only when that geography is chosen. Only the basemap tiles come from the
 * web; without them the polygons, tooltips, legend and table still work.
 *
 * A measure whose deciles are all missing (fewer than 10 areas: the package gives none) is
 * coloured by rank instead, spread over the same palette, and its legend and tooltips say
 * rank; nothing is made up for the missing deciles.
 */
(function () {
  "use strict";

  var views = {}; // element id -> {data, map, layers, current, listeners}
  var provided = {}; // geography key -> data handed over by a loaded script (provide())
  var waiting = {}; // element id -> page size of its table, redrawn by areas() per geography
  var WIDE_MAP = 560; // px: narrower maps (phones) start with the legend closed

  var STEP_MS = 4; // drawing yields to the page this often: no long task, however many areas
  // While the areas are being drawn the canvas is repainted this seldom, not every frame:
  // each repaint walks every area drawn so far and hands the whole canvas to the compositor.
  var REPAINT_MS = 300;

  // The integers of a string written by encode_integers, one per call.
  function integerReader(text) {
    var pos = 0;
    return function () {
      var result = 0, shift = 0, b;
      do {
        b = text.charCodeAt(pos++) - 63;
        result |= (b & 31) << shift;
        shift += 5;
      } while (b >= 32);
      return result & 1 ? ~(result >>> 1) : result >>> 1;
    };
  }

  // Rings of points, [lat, lng] unless point(lat, lng) makes them, from the delta-encoded
  // coordinates (see encode_geometry), one area per call, so that thousands of areas can be
  // drawn in short steps.
  function geometryReader(g, point) {
    point = point || function (lat, lng) { return [lat, lng]; };
    var scale = Math.pow(10, g.decimals);
    var step = integerReader(g.coords);
    var x = 0, y = 0, ring = 0, polygon = 0, area = 0;
    return function next() {
      var polygons = [];
      for (var p = 0; p < g.areaPolygons[area]; p++, polygon++) {
        var rings = [];
        for (var r = 0; r < g.polygonRings[polygon]; r++, ring++) {
          var points = new Array(g.ringSizes[ring]);
          for (var i = 0; i < points.length; i++) {
            x += step();
            y += step();
            points[i] = point(y / scale, x / scale);
          }
          rings.push(points);
        }
        polygons.push(rings);
      }
      area++;
      return polygons;
    };
  }

  // One measure's values from encode_measure's text: 0 missing, c > 0 is c - 1, a negative
  // itself, divided by the measure's scale.
  function decodeMeasure(text, scale, n) {
    var next = integerReader(text), values = new Array(n);
    for (var i = 0; i < n; i++) {
      var c = next();
      values[i] = c === 0 ? null : (c > 0 ? c - 1 : c) / scale;
    }
    return values;
  }

  // Scores, ranks and deciles as area_map_script packs them, each measure decoded when first
  // read: the data script is a few strings to parse, not a hundred thousand numbers.
  function unpack(data) {
    if (!data.packed) return data;
    Object.keys(data.packed).forEach(function (key) {
      var columns = [];
      data[key].forEach(function (text, j) {
        var values = null;
        Object.defineProperty(columns, j, {
          enumerable: true,
          get: function () {
            return values || (values = decodeMeasure(text, data.packed[key], data.n));
          },
        });
      });
      data[key] = columns;
    });
    return data;
  }

  // Every area's polygons at once (the tests compare this with Python's decoder).
  function decodeGeometry(g) {
    var next = geometryReader(g);
    return g.areaPolygons.map(function () { return next(); });
  }

  function addTiles(map, tiles) {
    L.tileLayer(tiles.url, {
      attribution: tiles.attribution + " | Boundaries: ONS (OGL v3.0)",
      maxZoom: tiles.maxZoom || 18,
    }).addTo(map);
  }

  // One number format per number of digits: toLocaleString with options makes a new one at
  // every call, which costs more than the rest of a table page.
  var formats = {};
  function format(value, digits) {
    if (value === null || value === undefined) return "n/a";
    formats[digits] = formats[digits] ||
      new Intl.NumberFormat("en-GB", { maximumFractionDigits: digits });
    return formats[digits].format(value);
  }

  function present(value) { return value !== null && value !== undefined; }

  // Measure j has no deciles (all missing): show ranks instead.
  function byRank(data, j) { return !data.decile[j].some(present); }

  // How many areas measure j ranks: the ranks run 1..this.
  function rankedAreas(data, j) { return data.rank[j].filter(present).length; }

  function plural(data) { return data.nouns || "MSOAs"; }

  // Rank r of k spread over the ten colours: rank 1 the first, rank k the last.
  function rankColour(data, r, k) {
    return data.palette[Math.round(((r - 1) * (data.palette.length - 1)) / Math.max(k - 1, 1))];
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  // Leaflet opens a tooltip on the side of the pointer towards the map's centre; on a map
  // less than twice its width (a phone) that side is too short and the name, code and score
  // are cut off at the map's edge. This tooltip is moved back inside the map (an internal
  // of the vendored Leaflet 1.9.4, where _setPosition places the tooltip), its arrow hidden
  // when it no longer points at the pointer. Made on first use, so that this file loads
  // without Leaflet (as its tests do).
  var FittedTooltip;
  function fittedTooltip(options) {
    FittedTooltip = FittedTooltip || L.Tooltip.extend({ _setPosition: fitInside });
    return new FittedTooltip(options);
  }
  function fitInside(pos) {
    L.Tooltip.prototype._setPosition.call(this, pos);
    var box = this._container, map = this._map.getContainer(), margin = 4;
    var tip = box.getBoundingClientRect(), area = map.getBoundingClientRect();
    var left = area.left + map.clientLeft, top = area.top + map.clientTop;
    function clamp(value, low, high) { return Math.max(low, Math.min(value, high)); }
    var dx = clamp(tip.left, left + margin, left + map.clientWidth - margin - tip.width) - tip.left;
    var dy = clamp(tip.top, top + margin, top + map.clientHeight - margin - tip.height) - tip.top;
    var moved = Math.abs(dx) > 0.5 || Math.abs(dy) > 0.5;
    box.classList.toggle("is-moved", moved);
    if (moved) L.DomUtil.setPosition(box, L.DomUtil.getPosition(box).add([dx, dy]));
  }

  // Leaflet's canvas renderer, with a hold: while held, areas added wait for the next
  // release to be painted, in one repaint for all of them (an internal of the vendored
  // Leaflet 1.9.4, where _requestRedraw asks for a repaint in the next frame). Made on
  // first use, so that this file loads without Leaflet.
  var HeldCanvas;
  function heldCanvas(options) {
    HeldCanvas = HeldCanvas || L.Canvas.extend({
      _requestRedraw: function (layer) {
        if (!this.held) return L.Canvas.prototype._requestRedraw.call(this, layer);
        if (this._map) this._extendRedrawBounds(layer);
      },
      release: function () {
        this.held = false;
        if (this._map && this._redrawBounds) {
          this._redrawRequest = this._redrawRequest || L.Util.requestAnimFrame(this._redraw, this);
        }
      },
    });
    return new HeldCanvas(options);
  }

  function render(elementId, data, metric) {
    data = data || JSON.parse(document.getElementById(elementId + "-data").textContent);
    var before = views[elementId];
    var map;
    if (before && before.frame) {
      map = before.frame; // drawn by later() while the data was on its way: tiles and all
    } else {
      if (before && before.map) before.map.remove();
      map = L.map(elementId, { preferCanvas: true, zoomSnap: 0.25 });
      addTiles(map, data.tiles);
    }
    // The legend stays open or closed as the reader left it when the geography changes.
    var view = { data: data, current: metric || 0, listeners: [], layers: [], waiting: [] };
    view.legendOpen = before && before.legendOpen;
    views[elementId] = view;
    var nouns = plural(data);
    view.map = map;

    var renderer = heldCanvas({ padding: 0.25 });
    function colour(i) {
      var c = view.current;
      if (byRank(data, c)) {
        var r = data.rank[c][i];
        return present(r) ? rankColour(data, r, rankedAreas(data, c)) : data.missing;
      }
      var d = data.decile[c][i];
      return d ? data.palette[d - 1] : data.missing;
    }
    function tooltip(i) {
      var c = view.current;
      return (
        "<strong>" + escapeHtml(data.names[i]) + "</strong><br>" + escapeHtml(data.codes[i]) +
        (data.ladNames ? " &middot; " + escapeHtml(data.ladNames[data.lad[i]]) : "") +
        "<br>" + escapeHtml(data.metrics[c].label) + "<br>score " + format(data.score[c][i], 3) +
        " &middot; rank " + format(data.rank[c][i], 0) + " of " + data.n.toLocaleString("en-GB") +
        (byRank(data, c) ? "" : " &middot; decile " + format(data.decile[c][i], 0))
      );
    }

    // One tooltip and one pair of hover handlers for all areas: binding them to each of
    // thousands of polygons more than doubles the time to the first drawing.
    var group = L.featureGroup();
    group.bindTooltip(
      fittedTooltip({ sticky: true, className: "msoa-map-tooltip" }).setContent(
        function (layer) { return tooltip(layer.options.area); }
      )
    );
    group.on("mouseover", function (e) {
      if (view.pinned) map.closeTooltip(view.pinned);
      e.propagatedFrom.setStyle({ weight: 2, color: "#1f2a36" });
    });
    group.on("mouseout", function (e) {
      e.propagatedFrom.setStyle({ weight: 0.4, color: "#ffffff" });
    });
    group.addTo(map);

    view.select = function (j) {
      view.current = j;
      view.layers.forEach(function (layer, i) { layer.setStyle({ fillColor: colour(i) }); });
      // An open tooltip, hovered or pinned, names the measure it was opened with: redraw it.
      group.getTooltip().update();
      if (view.pinned) view.pinned.update();
      view.listeners.forEach(function (listener) { listener(j); });
    };
    view.zoomTo = function (i) {
      var layer = view.layers[i];
      if (!layer) return view.waiting.push(function () { view.zoomTo(i); }); // still drawing
      map.fitBounds(layer.getBounds(), beside({ maxZoom: 12 }));
      group.closeTooltip();
      if (view.pinned) map.closeTooltip(view.pinned);
      view.pinned = fittedTooltip({ className: "msoa-map-tooltip" })
        .setLatLng(layer.getBounds().getCenter())
        .setContent(function () { return tooltip(i); })
        .openOn(map);
      document.getElementById(elementId).scrollIntoView({ behavior: "smooth", block: "center" });
    };

    // The switch: one option per index, domain and sub-domain; recolours in place.
    var picker = L.control({ position: "topright" });
    picker.onAdd = function () {
      var div = L.DomUtil.create("div", "msoa-map-control");
      var label = L.DomUtil.create("label", "", div);
      label.textContent = data.decile.some(function (d, j) { return !byRank(data, j); })
        ? "Show deciles of "
        : "Show ranks of ";
      label.setAttribute("for", elementId + "-metric");
      var select = L.DomUtil.create("select", "form-select form-select-sm", div);
      select.id = elementId + "-metric";
      data.metrics.forEach(function (m, j) {
        var option = document.createElement("option");
        option.value = String(j);
        option.textContent = m.label;
        select.appendChild(option);
      });
      select.value = String(view.current);
      select.addEventListener("change", function () { view.select(Number(select.value)); });
      view.listeners.push(function (j) { select.value = String(j); });
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    picker.addTo(map);

    // The legend: open unless the map is narrow (a phone), where it would hide most of
    // England; a button opens and closes it.
    var legend = L.control({ position: "bottomleft" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "msoa-map-control msoa-map-legend");
      var toggle = L.DomUtil.create("button", "msoa-map-legend-toggle", box);
      toggle.type = "button";
      var div = L.DomUtil.create("div", "msoa-map-legend-body", box);
      div.id = elementId + "-legend";
      toggle.setAttribute("aria-controls", div.id);
      view.openLegend = function (open) {
        view.legendOpen = open;
        box.classList.toggle("is-closed", !open);
        toggle.setAttribute("aria-expanded", String(open));
        toggle.setAttribute("aria-label", open ? "Hide the legend" : "Show the legend");
        toggle.textContent = open ? "\u00d7" : "Legend";
        standClear();
      };
      toggle.addEventListener("click", function () { view.openLegend(!view.legendOpen); });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      view.legend = box;
      function swatch(colour, text) {
        return '<span class="swatch" style="background:' + colour + '"></span>' + text + "<br>";
      }
      // Ten deciles, or (without deciles) one entry per rank 1..k.
      function fill(j) {
        var html = '<strong class="msoa-map-legend-title"></strong><br>';
        if (byRank(data, j)) {
          var k = rankedAreas(data, j);
          for (var r = 1; r <= k; r++) {
            var end = r === 1 ? " most deprived" : r === k ? " least deprived" : "";
            html += swatch(rankColour(data, r, k), r + end);
          }
        } else {
          data.palette.forEach(function (c, d) {
            var note = d === 0 ? " most deprived 10%" : d === 9 ? " least deprived 10%" : "";
            html += swatch(c, d + 1 + note);
          });
        }
        div.innerHTML = html;
        div.querySelector(".msoa-map-legend-title").textContent =
          data.metrics[j].label +
          (byRank(data, j)
            ? ": rank among " + rankedAreas(data, j).toLocaleString("en-GB") + " " + nouns +
              ", 1 = most deprived"
            : ": decile among " + nouns);
      }
      view.listeners.push(fill);
      fill(view.current);
      return box;
    };
    legend.addTo(map);
    view.openLegend(view.legendOpen === undefined ? map.getSize().x >= WIDE_MAP : view.legendOpen);

    // On a narrow map the open legend reaches over the attribution (bottom right): it is
    // lifted to stand on it rather than print over it.
    function standClear() {
      var legendBox = view.legend;
      legendBox.style.marginBottom = "";
      if (!view.legendOpen || !map.attributionControl) return;
      var a = map.attributionControl.getContainer().getBoundingClientRect();
      var b = legendBox.getBoundingClientRect();
      if (a.height && a.left < b.right && a.right > b.left && a.top < b.bottom) {
        var margin = parseFloat(getComputedStyle(legendBox).marginBottom) || 0;
        legendBox.style.marginBottom = margin + b.bottom - a.top + 4 + "px";
      }
    }
    map.on("resize", standClear);

    // Fit bounds beside the open legend (England to its right, not under it), when the map
    // is wide enough to leave room.
    function beside(options) {
      var width = view.legendOpen ? view.legend.offsetWidth + 10 : 0;
      if (width && width < map.getSize().x / 2) options.paddingTopLeft = [width, 0];
      return options;
    }
    map.fitBounds(data.bounds, beside({}));

    // The areas, in steps of a few milliseconds so that the page stays responsive while
    // thousands of them are drawn: first every area's rings, then the polygons band by band
    // from north to south, west to east and back in turn, so that each step's neighbours
    // make a small patch for the canvas to redraw, not a strip across the map.
    // Leaflet's own points at once: no [lat, lng] pair for Leaflet to copy, and less
    // garbage to collect while drawing.
    var next = geometryReader(data.geometry, function (lat, lng) { return new L.LatLng(lat, lng); });
    var shapes = [];
    function inSteps(count, work, then) {
      function from(start) {
        if (views[elementId] !== view) return; // another geography was chosen meanwhile
        var until = performance.now() + STEP_MS;
        var i = start;
        for (; i < count && (i === start || performance.now() < until); i++) work(i);
        if (i < count) setTimeout(from, 0, i);
        else then();
      }
      from(0);
    }
    var repainted = performance.now(); // when the held canvas last showed the areas added
    function repaint(last) {
      if (!last && performance.now() - repainted < REPAINT_MS) return;
      repainted = performance.now();
      renderer.release();
      renderer.held = !last;
    }
    var BANDS = 24;
    function place(i) {
      var south = data.bounds[0][0], west = data.bounds[0][1], top = data.bounds[1][0];
      var point = shapes[i].length ? shapes[i][0][0][0] : [top, west];
      var band = Math.max(0, Math.min(BANDS - 1, Math.floor(((top - point[0]) / (top - south || 1)) * BANDS)));
      var east = point[1] - west; // under 360 degrees: bands stay apart
      return band * 1000 + (band % 2 ? 360 - east : east);
    }
    function draw(i) {
      view.layers[i] = L.polygon(shapes[i], {
        renderer: renderer,
        weight: 0.4,
        color: "#ffffff",
        opacity: 0.8,
        fillColor: colour(i),
        fillOpacity: 0.85,
        area: i,
      }).addTo(group);
    }
    inSteps(data.n, function () { shapes.push(next()); }, function () {
      var order = shapes.map(function (_, i) { return i; });
      var key = order.map(place);
      order.sort(function (a, b) { return key[a] - key[b]; });
      renderer.held = true;
      inSteps(data.n, function (k) { draw(order[k]); repaint(false); }, function () {
        repaint(true);
        view.waiting.splice(0).forEach(function (then) { then(); });
      });
    });

    // Controls sit above the map's panes, tooltips included: the legend steps aside while
    // a tooltip would be under it.
    function uncover() {
      var box = view.legend.getBoundingClientRect();
      var under = Array.prototype.some.call(
        map.getContainer().querySelectorAll(".leaflet-tooltip"),
        function (tip) {
          var r = tip.getBoundingClientRect();
          return tip.style.opacity !== "0" && r.left < box.right && r.right > box.left &&
            r.top < box.bottom && r.bottom > box.top;
        }
      );
      view.legend.classList.toggle("is-under-tooltip", under);
    }
    group.on("mousemove", uncover);
    map.on("tooltipopen tooltipclose moveend zoomend", uncover);
    return map;
  }

  // A searchable, sortable, paged table of every area, for the measure shown on the map.
  function table(elementId, pageSize) {
    var view = views[elementId];
    waiting[elementId] = pageSize; // areas() and later() draw it once the data has come
    if (!view || !view.data) return;
    var data = view.data;
    var root = document.getElementById(elementId + "-table");
    pageSize = pageSize || 15;
    var noun = data.noun || "MSOA", nouns = plural(data);
    var deciles = data.decile.some(function (d, j) { return !byRank(data, j); });
    var state = { query: "", key: "rank", ascending: true, page: 0 };
    var lad = function (i) { return data.ladNames ? data.ladNames[data.lad[i]] : ""; };
    var columns = [
      { key: "code", label: noun.charAt(0).toUpperCase() + noun.slice(1), value: function (i) { return data.codes[i]; } },
      { key: "name", label: "Name", value: function (i) { return data.names[i]; } },
    ];
    if (data.ladNames) columns.push({ key: "lad", label: "Local authority", value: lad });
    columns = columns.concat([
      { key: "score", label: "Score", numeric: true, digits: 3, value: function (i) { return data.score[view.current][i]; } },
      { key: "rank", label: "Rank", numeric: true, digits: 0, value: function (i) { return data.rank[view.current][i]; } },
    ]);
    if (deciles) {
      columns.push({ key: "decile", label: "Decile", numeric: true, digits: 0, value: function (i) { return data.decile[view.current][i]; } });
    }
    var search = null; // what a search looks in, made on the first: the first page needs none
    function searched() {
      return search || (search = data.codes.map(function (code, i) {
        return (code + " " + data.names[i] + " " + lad(i)).toLowerCase();
      }));
    }

    root.innerHTML =
      '<div class="msoa-table-tools"><input type="search" class="form-control form-control-sm" ' +
      'placeholder="' + (data.ladNames ? "Search by code, name or local authority" : "Search by code or name") +
      '" aria-label="Search ' + escapeHtml(nouns) + '">' +
      '<span class="msoa-table-measure"></span></div>' +
      '<div class="table-responsive"></div>' +
      '<div class="msoa-table-pager"><button type="button" class="btn btn-sm btn-outline-secondary" data-step="-1">Previous</button>' +
      '<span class="msoa-table-count"></span>' +
      '<button type="button" class="btn btn-sm btn-outline-secondary" data-step="1">Next</button></div>';
    // Made as an element: Quarto takes a table tag in a page's inline script for a table to
    // parse, and warns on every render that it cannot.
    var table = document.createElement("table");
    table.className = "table table-sm table-hover msoa-table";
    table.innerHTML = "<thead><tr></tr></thead><tbody></tbody>";
    root.querySelector(".table-responsive").appendChild(table);
    var input = root.querySelector("input");
    var head = root.querySelector("thead tr");
    var body = root.querySelector("tbody");
    var count = root.querySelector(".msoa-table-count");
    var measure = root.querySelector(".msoa-table-measure");

    columns.forEach(function (col) {
      var th = document.createElement("th");
      th.scope = "col";
      if (col.numeric) th.className = "text-end";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "msoa-table-sort";
      button.textContent = col.label;
      button.addEventListener("click", function () {
        state.ascending = state.key === col.key ? !state.ascending : true;
        state.key = col.key;
        state.page = 0;
        draw();
      });
      th.appendChild(button);
      head.appendChild(th);
    });

    function rows() {
      var q = state.query.trim().toLowerCase();
      var col = columns.filter(function (c) { return c.key === state.key; })[0];
      var picked = [], values = new Array(data.n), texts = q && searched();
      for (var i = 0; i < data.n; i++) {
        if (!q || texts[i].indexOf(q) >= 0) picked.push(i);
        values[i] = col.value(i); // once each: the sort compares each area many times
      }
      picked.sort(function (a, b) {
        var va = values[a], vb = values[b];
        if (va === vb) return a - b;
        if (va === null) return 1;
        if (vb === null) return -1;
        var order = col.numeric ? va - vb : String(va).localeCompare(String(vb), "en-GB");
        return state.ascending ? order : -order;
      });
      return picked;
    }

    function draw() {
      var picked = rows();
      var pages = Math.max(1, Math.ceil(picked.length / pageSize));
      state.page = Math.min(state.page, pages - 1);
      var start = state.page * pageSize;
      var shown = picked.slice(start, start + pageSize);
      body.innerHTML = shown.map(function (i) {
        return '<tr data-area="' + i + '" tabindex="0">' + columns.map(function (col) {
          var v = col.value(i);
          return col.numeric
            ? '<td class="text-end">' + format(v, col.digits) + "</td>"
            : "<td>" + escapeHtml(v) + "</td>";
        }).join("") + "</tr>";
      }).join("");
      head.querySelectorAll("th").forEach(function (th, j) {
        var key = columns[j].key;
        th.setAttribute("aria-sort", key !== state.key ? "none" : state.ascending ? "ascending" : "descending");
      });
      measure.textContent = (deciles ? "Score, rank and decile: " : "Score and rank: ") + data.metrics[view.current].label;
      count.textContent = picked.length
        ? (start + 1).toLocaleString("en-GB") + "–" + (start + shown.length).toLocaleString("en-GB") +
          " of " + picked.length.toLocaleString("en-GB") + " " + nouns
        : "No " + noun + " matches";
    }

    input.addEventListener("input", function () { state.query = input.value; state.page = 0; draw(); });
    root.querySelectorAll("[data-step]").forEach(function (button) {
      button.addEventListener("click", function () {
        state.page = Math.max(0, state.page + Number(button.getAttribute("data-step")));
        draw();
      });
    });
    function open(event) {
      var tr = event.target.closest("tr[data-area]");
      if (tr && (event.type === "click" || event.key === "Enter")) view.zoomTo(Number(tr.getAttribute("data-area")));
    }
    body.addEventListener("click", open);
    body.addEventListener("keydown", open);
    view.listeners.push(function () { draw(); });
    draw();
  }

  // The table in a task of its own after the map's: neither makes the page wait long.
  function tableLater(elementId) {
    if (elementId in waiting) setTimeout(table, 0, elementId, waiting[elementId]);
  }

  // A geography's data, handed over by the script areas() loads for it.
  function provide(key, data) {
    provided[key] = unpack(data);
  }

  // Load a geography's script once, then call back with its data (or an error message).
  function load(choice, done) {
    if (provided[choice.key]) return done(provided[choice.key]);
    var script = document.createElement("script");
    script.src = choice.src;
    script.onload = function () {
      done(provided[choice.key] || null, "no data in " + choice.src);
    };
    script.onerror = function () { done(null, "could not load " + choice.src); };
    document.head.appendChild(script);
  }

  // The map before its data: tiles and the areas' extent at once, then the areas from the
  // script `src` once the page has loaded and painted (afterFirstPaint), so the page is
  // read while they come.
  function later(elementId, src) {
    var frame = JSON.parse(document.getElementById(elementId + "-data").textContent);
    var map = L.map(elementId, { preferCanvas: true, zoomSnap: 0.25 });
    addTiles(map, frame.tiles);
    map.fitBounds(frame.bounds);
    views[elementId] = { frame: map };
    var note = L.control({ position: "topright" });
    note.onAdd = function () {
      var div = L.DomUtil.create("div", "msoa-map-control msoa-map-status");
      div.setAttribute("role", "status");
      div.textContent = "Loading " + frame.n.toLocaleString("en-GB") + " " + plural(frame) + "…";
      return div;
    };
    note.addTo(map);
    function fetchData() {
      load({ key: frame.key, src: src }, function (data, problem) {
        if (!data) {
          note.getContainer().textContent = "Sorry: " + problem + ".";
          return;
        }
        note.remove();
        render(elementId, data);
        tableLater(elementId);
      });
    }
    afterFirstPaint(fetchData);
  }

  // Calls `then` once the page has loaded and painted its first content (3 s after loading
  // at the latest): a map's data, fetched sooner, competes with the page's own first paint.
  function afterFirstPaint(then) {
    var called = false;
    function call() {
      if (called) return;
      called = true;
      requestAnimationFrame(function () { setTimeout(then, 0); });
    }
    function painted(list) { return list.getEntriesByName("first-contentful-paint").length > 0; }
    function loaded() {
      if (!window.PerformanceObserver || painted(performance)) return call();
      var observer = new PerformanceObserver(function (list) {
        if (painted(list)) { observer.disconnect(); call(); }
      });
      observer.observe({ type: "paint", buffered: true });
      setTimeout(call, 3000);
    }
    if (document.readyState === "complete") loaded();
    else window.addEventListener("load", loaded);
  }

  // A map with a geography switch above it; the table below follows the geography shown.
  function areas(elementId, options) {
    var element = document.getElementById(elementId);
    var bar = document.createElement("div");
    bar.className = "msoa-map-geography";
    var label = document.createElement("label");
    label.textContent = "Areas: ";
    label.setAttribute("for", elementId + "-geography");
    var select = document.createElement("select");
    select.id = elementId + "-geography";
    select.className = "form-select form-select-sm";
    options.choices.forEach(function (choice) {
      var option = document.createElement("option");
      option.value = choice.key;
      option.textContent = choice.label;
      select.appendChild(option);
    });
    var status = document.createElement("span");
    status.className = "msoa-map-status";
    status.setAttribute("role", "status");
    bar.appendChild(label);
    bar.appendChild(select);
    bar.appendChild(status);
    element.parentNode.insertBefore(bar, element);

    function choice(key) {
      return options.choices.filter(function (c) { return c.key === key; })[0];
    }
    var shown = null; // the geography on the map and in the table
    var wanted = null; // the one last chosen: a slower earlier load must not replace it
    function show(key) {
      var metric = views[elementId] ? views[elementId].current : 0;
      select.value = wanted = key;
      status.textContent = "Loading " + choice(key).label + "…";
      load(choice(key), function (data, problem) {
        if (key !== wanted) return;
        if (!data) {
          // The menu and the address go back to what the map and the table still show.
          status.textContent = "Sorry: " + problem + "." +
            (shown ? " Still showing " + choice(shown).label + "." : "");
          if (shown) {
            select.value = wanted = shown;
            history.replaceState(null, "", "#geography=" + shown);
          }
          return;
        }
        shown = key;
        status.textContent = "";
        render(elementId, data, metric);
        tableLater(elementId);
      });
    }
    // The geography shown is kept in the address (#geography=icb24), so it can be shared.
    select.addEventListener("change", function () {
      history.replaceState(null, "", "#geography=" + select.value);
      show(select.value);
    });
    var asked = /geography=([a-z0-9]+)/.exec(location.hash);
    var known = asked && options.choices.some(function (c) { return c.key === asked[1]; });
    var start = known ? asked[1] : options.first;
    select.value = start;
    status.textContent = "Loading " + choice(start).label + "…";
    afterFirstPaint(function () { if (wanted === null) show(start); });
  }

  window.IodMsoaMap = {
    render: render,
    later: later,
    table: table,
    areas: areas,
    provide: provide,
    decodeGeometry: decodeGeometry,
    unpack: unpack,
  };
})();
