// flownb's live run view: the browser side of flownb.notebook.RunView (an anywidget).
//
// The kernel sends the graph laid out once (`graph`: SVG + node ids) and then, at most ten
// times a second, the bounded view model (`state`). Here nodes are restyled by class (never
// laid out again), running times count up from their start, the table, inspector, timeline
// and event log are drawn, and clicks go back as traits (`selected`, `item_status`, ...).
// Plain DOM, no dependencies: shipped as it is inside the Python package, after
// parts.js (h, fill, WidgetSlots), with which it makes one ES module.

const STATUSES = ["pending", "running", "success", "failed", "suspended", "canceled", "skipped"];
const PT = 4 / 3; // Graphviz writes points; one point is 4/3 CSS pixels
const SIDE_MIN = 380; // the table beside the graph needs at least this much room
const MAX_GRAPH_HEIGHT = 560;

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 1) return `${(seconds * 1000).toFixed(0)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  if (m < 60) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

function clockTime(epoch) {
  if (epoch === null || epoch === undefined) return "";
  const d = new Date(epoch * 1000);
  return d.toLocaleTimeString([], { hour12: false }) + "." +
    String(d.getMilliseconds()).padStart(3, "0");
}

function pill(status) {
  return h("span", { class: `flownb-pill status-${status}`, text: status });
}

// A step whose output an earlier run gave (SPEC §3d: it did not run again).
function reusedBadge(from) {
  const where = from ? ` from run ${from.run_id}${from.path ? ` · ${from.path}` : ""}` : "";
  return h("span", { class: "flownb-reused-badge", text: "↺ reused", title: `reused${where}` });
}

// A long value: its first lines, and a button that asks the kernel for more.
function folded(value, field, model, { error = false } = {}) {
  if (!value) return null;
  const box = h("div", { class: "flownb-fold" },
    h("pre", { class: error ? "flownb-pre flownb-error-text" : "flownb-pre", text: value.text }));
  if (value.cut) {
    const expanded = model.get("expanded") || [];
    const whole = value.lines === null
      ? `${value.items.toLocaleString()} items`
      : `${value.lines.toLocaleString()} lines, ${value.chars.toLocaleString()} characters`;
    const label = expanded.includes(field)
      ? `showing ${value.text.split("\n").length.toLocaleString()} lines of ${whole} (the rest: view.inspector in Python)`
      : `show more (${whole})`;
    box.append(h("button", {
      class: "flownb-more", text: label, disabled: expanded.includes(field),
      onclick: () => {
        model.set("expanded", [...expanded, field]);
        model.save_changes();
      },
    }));
  }
  return box;
}

function progressBar(progress) {
  const { done, total } = progress;
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  return h("div", {
    class: "flownb-progress", role: "progressbar", "aria-valuemin": 0,
    "aria-valuemax": total, "aria-valuenow": done, title: `${done} of ${total} items done`,
  }, h("div", { class: "flownb-progress-fill", style: `width:${(fraction * 100).toFixed(2)}%` }));
}

// Rows of steps inside a nested workflow or foreach come after their parent's row: each is
// named by what follows its closest parent row ("split", under "per_group"), indented one
// level per parent, so two inner steps never look alike cut to the same prefix. Path ->
// {depth, name}; a step with no parent row keeps its whole path.
function nesting(paths) {
  const placed = new Map();
  for (const path of paths) {
    let place = { depth: 0, name: path };
    for (let at = path.lastIndexOf("."); at > 0; at = path.lastIndexOf(".", at - 1)) {
      const parent = placed.get(path.slice(0, at));
      if (parent) {
        place = { depth: parent.depth + 1, name: path.slice(at + 1) };
        break;
      }
    }
    placed.set(path, place);
  }
  return placed;
}

function stepName(path, place) {
  const depth = place ? place.depth : 0;
  return h("span", {
    class: "flownb-cut" + (depth ? " flownb-nested" : ""), title: path,
    style: depth ? `padding-left:${Math.min(depth, 6) * 12}px` : null,
  }, depth ? h("span", { class: "flownb-muted", text: "↳ " }) : null,
  place ? place.name : path);
}

class LiveView {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.skew = 0; // browser clock - kernel clock, in seconds
    this.zoom = null; // the viewBox shown: {x, y, w, h}; null: fit
    this.natural = null; // the graph's own size in user units
    this.nodes = new Map(); // node path -> its <g>
    this.build();
  }

  build() {
    const model = this.model;
    this.head = h("div", { class: "flownb-head" });
    this.changes = h("div", { class: "flownb-changes-box" });
    this.legend = h("div", { class: "flownb-legend" },
      STATUSES.map((s) => h("span", { class: `flownb-legend-item status-${s}` },
        h("span", { class: "flownb-swatch" }), s)));
    const button = (text, title, onclick, cls = "") =>
      h("button", { class: `flownb-tool ${cls}`, title, "aria-label": title, text, onclick });
    this.tools = h("div", { class: "flownb-graph-tools" }, this.legend,
      h("span", { class: "flownb-zoom" },
        button("−", "zoom out", () => this.zoomBy(1.25)),
        button("+", "zoom in (or Ctrl + wheel)", () => this.zoomBy(0.8)),
        button("Fit", "fit the graph to the view", () => this.fit(), "flownb-fit"),
        this.turn = button("↔", "", () => {
          // A new layout, made by Graphviz on the Python side; the graph trait brings it.
          model.set("direction", model.get("direction") === "LR" ? "TB" : "LR");
          model.save_changes();
        }, "flownb-direction")));
    this.showDirection();
    this.canvas = h("div", { class: "flownb-graph", tabindex: 0 });
    this.graphPane = h("div", { class: "flownb-graph-pane" }, this.canvas);
    this.tabs = h("div", { class: "flownb-tabs", role: "tablist" },
      ["steps", "timeline", "events"].map((name) => h("button", {
        class: "flownb-tab", role: "tab", "data-tab": name, text: name,
        onclick: () => { model.set("tab", name); model.save_changes(); },
      })));
    this.tabBody = h("div", { class: "flownb-tab-body" });
    this.side = h("div", { class: "flownb-side" }, this.tabs, this.tabBody);
    this.body = h("div", { class: "flownb-body" }, this.graphPane, this.side);
    this.inspector = h("div", { class: "flownb-inspector", hidden: true });
    this.result = h("div", { class: "flownb-result-box" });
    this.formsBox = h("div", { class: "flownb-forms" });
    this.root = h("div", { class: "flownb-live flownb-run-view" },
      this.head, this.changes, this.tools, this.body, this.inspector, this.result, this.formsBox);
    this.el.append(this.root);
    this.bindGraph();
  }

  // -- the graph --------------------------------------------------------------------------

  drawGraph() {
    const graph = this.model.get("graph") || {};
    this.ids = graph.ids || {};
    this.byId = new Map(Object.entries(this.ids).map(([path, id]) => [id, path]));
    fill(this.canvas);
    this.nodes.clear();
    this.svg = null;
    if (!graph.svg) {
      this.canvas.append(h("div", { class: "flownb-muted", text: graph.error || "no graph" }));
      return;
    }
    const holder = document.createElement("div");
    holder.innerHTML = graph.svg; // laid out by Graphviz from escaped text (flownb.render)
    const svg = holder.querySelector("svg");
    if (!svg) return;
    const box = svg.viewBox.baseVal;
    this.natural = { x: box.x, y: box.y, w: box.width, h: box.height };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.querySelectorAll("title").forEach((t) => t.remove()); // ids, not names: tooltips
    this.svg = svg;
    this.canvas.append(svg);
    for (const g of svg.querySelectorAll("g[id]")) {
      const path = this.byId.get(g.id);
      if (path !== undefined) {
        this.nodes.set(path, g);
        g.classList.add("flownb-clickable");
        g.setAttribute("data-path", path);
      }
    }
    this.zoom = null;
    this.labelsMeasured = false;
  }

  // Graphviz measured the labels with its own font metrics; the browser's font may be
  // wider. A label wider than its shape gets a smaller font (then, at 70 %, is squeezed),
  // the whole id stays its tooltip. A nested workflow's title gets a backdrop and is drawn
  // last, so an edge entering the cluster passes under it instead of through the text.
  fitLabels() {
    if (!this.svg || this.labelsMeasured) return;
    const ns = "http://www.w3.org/2000/svg";
    const top = this.svg.querySelector("g.graph") || this.svg;
    let measured = false;
    for (const g of this.svg.querySelectorAll("g.node, g.cluster")) {
      const shape = g.querySelector("path, polygon, ellipse");
      if (!shape) continue;
      const outer = shape.getBBox();
      if (outer.width === 0) continue;
      measured = true;
      const cluster = g.classList.contains("cluster");
      const texts = [...g.querySelectorAll("text")];
      for (const text of texts) {
        const room = outer.width - (cluster ? 12 : 10);
        let inner = text.getBBox();
        if (inner.width > room && room > 0) {
          const size = parseFloat(text.getAttribute("font-size")) || 11;
          const smaller = Math.max(0.7, room / inner.width) * size;
          text.setAttribute("font-size", smaller.toFixed(2));
          inner = text.getBBox();
          if (inner.width > room) {
            text.setAttribute("textLength", room.toFixed(1));
            text.setAttribute("lengthAdjust", "spacingAndGlyphs");
          }
        }
        if (cluster) {
          // A cluster's title is placed from Graphviz's metrics: a wider font pushes its
          // start past the cluster's left border. Move it back inside.
          inner = text.getBBox();
          const left = outer.x + 6, right = outer.x + outer.width - 6;
          const shift = inner.x < left ? left - inner.x
            : inner.x + inner.width > right ? Math.max(left - inner.x, right - inner.x - inner.width) : 0;
          if (shift) {
            const x = parseFloat(text.getAttribute("x")) || 0;
            text.setAttribute("x", (x + shift).toFixed(1));
          }
        }
      }
      if (cluster && texts.length && g.hasAttribute("data-path")) {
        const label = document.createElementNS(ns, "g");
        label.setAttribute("class", "flownb-cluster-label");
        label.setAttribute("data-path", g.getAttribute("data-path"));
        label.setAttribute("data-cluster", g.getAttribute("data-path"));
        for (const text of texts) {
          const b = text.getBBox();
          const back = document.createElementNS(ns, "rect");
          back.setAttribute("class", "flownb-label-back");
          back.setAttribute("x", (b.x - 2).toFixed(1));
          back.setAttribute("y", (b.y - 0.5).toFixed(1));
          back.setAttribute("width", (b.width + 4).toFixed(1));
          back.setAttribute("height", (b.height + 1).toFixed(1));
          back.setAttribute("rx", "2");
          label.append(back, text);
        }
        top.append(label);
      }
    }
    this.labelsMeasured = measured;
  }

  layout() {
    if (!this.natural || !this.svg) return;
    const width = this.root.clientWidth;
    if (width === 0) return; // not attached yet: the resize observer calls again
    const naturalPx = this.natural.w * PT;
    const beside = naturalPx + SIDE_MIN + 16 <= width;
    this.body.classList.toggle("flownb-stacked", !beside);
    this.graphPane.style.width = beside ? `${Math.ceil(naturalPx) + 2}px` : "";
    const room = this.canvas.clientWidth || width;
    const scale = Math.min(1, room / naturalPx, MAX_GRAPH_HEIGHT / (this.natural.h * PT));
    this.svg.style.width = `${Math.floor(naturalPx * scale)}px`;
    this.svg.style.height = `${Math.floor(this.natural.h * PT * scale)}px`;
    this.applyZoom();
    this.fitLabels();
  }

  showDirection() {
    const lr = this.model.get("direction") === "LR";
    const title = lr ? "lay the graph out top to bottom" : "lay the graph out left to right";
    this.turn.textContent = lr ? "↕" : "↔";
    this.turn.title = title;
    this.turn.setAttribute("aria-label", title);
  }

  applyZoom() {
    const v = this.zoom || this.natural;
    this.svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
    this.canvas.classList.toggle("flownb-zoomed", this.zoom !== null);
  }

  fit() {
    this.zoom = null;
    if (this.svg) this.layout();
  }

  zoomBy(factor, cx = 0.5, cy = 0.5) {
    if (!this.svg) return;
    const v = this.zoom || { ...this.natural };
    const w = Math.min(this.natural.w * 4, Math.max(this.natural.w / 20, v.w * factor));
    const hgt = v.h * (w / v.w);
    this.zoom = { x: v.x + (v.w - w) * cx, y: v.y + (v.h - hgt) * cy, w, h: hgt };
    this.applyZoom();
  }

  bindGraph() {
    const canvas = this.canvas;
    canvas.addEventListener("wheel", (event) => {
      if (!(event.ctrlKey || event.metaKey) || !this.svg) return; // plain wheel scrolls
      event.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(event.deltaY > 0 ? 1.15 : 1 / 1.15,
        (event.clientX - r.left) / r.width, (event.clientY - r.top) / r.height);
    }, { passive: false });
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      if (!this.svg || event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, moved: false, id: event.pointerId };
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) canvas.setPointerCapture(drag.id);
      drag.moved = true;
      const v = this.zoom || { ...this.natural };
      const r = this.svg.getBoundingClientRect();
      const k = v.w / r.width;
      this.zoom = { ...v, x: v.x - dx * k, y: v.y - dy * k };
      drag.x = event.clientX;
      drag.y = event.clientY;
      this.applyZoom();
    });
    const end = (event) => {
      if (!drag) return;
      const moved = drag.moved;
      drag = null;
      if (moved) return;
      const g = event.target.closest && event.target.closest("g[data-path]");
      if (g) this.select(g.getAttribute("data-path"));
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", () => { drag = null; });
    canvas.addEventListener("keydown", (event) => {
      if (event.key === "+" || event.key === "=") this.zoomBy(0.8);
      else if (event.key === "-") this.zoomBy(1.25);
      else if (event.key === "0") this.fit();
    });
  }

  select(path) {
    const model = this.model;
    model.set("item_offset", 0);
    model.set("item_status", "");
    model.set("selected", model.get("selected") === path ? "" : path);
    model.save_changes();
  }

  restyle(state) {
    const selected = this.model.get("selected");
    for (const [path, g] of this.nodes) {
      const node = state.nodes[path];
      const status = node ? node.status : "pending";
      for (const cls of [...g.classList]) {
        if (cls.startsWith("status-") && cls !== `status-${status}`) g.classList.remove(cls);
      }
      g.classList.add(`status-${status}`);
      g.classList.toggle("flownb-reused", (state.reused || []).includes(path));
      g.classList.toggle("flownb-selected", path === selected || selected.startsWith(path + "["));
      const progress = node && node.progress;
      g.setAttribute("data-status", status);
      if (progress) this.nodeProgress(g, progress);
    }
  }

  // A foreach's node carries a thin bar of its items done along its bottom edge.
  nodeProgress(g, progress) {
    let bar = g.querySelector("rect.flownb-node-progress");
    const shape = g.querySelector("path, polygon, ellipse");
    if (!shape) return;
    const box = shape.getBBox();
    if (box.width === 0) return;
    if (!bar) {
      const ns = "http://www.w3.org/2000/svg";
      const track = document.createElementNS(ns, "rect");
      track.setAttribute("class", "flownb-node-track");
      bar = document.createElementNS(ns, "rect");
      bar.setAttribute("class", "flownb-node-progress");
      for (const r of [track, bar]) {
        r.setAttribute("x", (box.x + 6).toFixed(1));
        r.setAttribute("y", (box.y + box.height - 4).toFixed(1));
        r.setAttribute("height", "2");
        r.setAttribute("rx", "1");
      }
      track.setAttribute("width", Math.max(0, box.width - 12).toFixed(1));
      g.append(track, bar);
    }
    const fraction = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 0;
    bar.setAttribute("width", (Math.max(0, box.width - 12) * fraction).toFixed(1));
  }

  // -- the rest ---------------------------------------------------------------------------

  drawHead(state) {
    const model = this.model;
    const elapsed = h("span", { class: "flownb-elapsed" });
    if (state.running && state.started_at !== null) elapsed.dataset.since = state.started_at;
    else elapsed.textContent = duration(state.seconds);
    const cancel = state.running && !state.read_only ? h("button", {
      class: "flownb-button flownb-cancel", text: "Cancel", title: "cancel the run",
      onclick: (event) => {
        event.target.disabled = true;
        event.target.textContent = "Canceling…";
        model.send({ kind: "cancel" });
      },
    }) : null;
    // Re-run: a new run of the same workflow with the same input; this view follows it.
    const rerun = state.can_rerun ? h("button", {
      class: "flownb-button flownb-rerun", text: "Re-run",
      title: "start a new run with the same input (this view follows it)",
      onclick: (event) => {
        event.target.disabled = true;
        event.target.textContent = "Starting…";
        model.send({ kind: "rerun" });
      },
    }) : null;
    fill(this.head,
      h("span", { class: "flownb-title" }, h("b", { text: state.workflow_id }), " · run ",
        h("code", { text: state.run_id })),
      pill(state.status), elapsed,
      state.notice ? h("span", { class: "flownb-notice", text: state.notice }) : null,
      h("span", { class: "flownb-spacer" }), cancel, rerun);
  }

  drawSteps(state) {
    const reused = new Set(state.reused || []);
    const nested = nesting(state.rows.map((row) => row.path));
    const rows = state.rows.map((row) => {
      const progress = row.progress;
      const time = h("td", { class: "flownb-time" });
      if (row.running && row.started_at !== null) time.dataset.since = row.started_at;
      else time.textContent = duration(row.seconds);
      let output;
      if (progress) {
        const counts = Object.entries(progress.counts)
          .map(([s, n]) => `${n.toLocaleString()} ${s}`).join(", ");
        output = h("td", { class: "flownb-output" },
          h("div", { class: "flownb-items" }, progressBar(progress),
            h("span", { class: "flownb-count",
              text: `${progress.done.toLocaleString()}/${progress.total.toLocaleString()}` })),
          h("div", { class: "flownb-muted flownb-cut", text: counts, title: counts }));
      } else {
        output = h("td", { class: "flownb-output" },
          row.output ? h("code", { class: "flownb-cut", text: row.output, title: row.output })
            : null,
          row.error ? h("div", { class: "flownb-error-text flownb-cut", text: row.error,
            title: row.error }) : null);
      }
      const tr = h("tr", {
        class: "flownb-row" + (this.model.get("selected") === row.path ? " flownb-selected" : ""),
        "data-path": row.path, tabindex: 0,
        onclick: () => this.select(row.path),
        onkeydown: (e) => { if (e.key === "Enter") this.select(row.path); },
      },
      h("td", { class: "flownb-path" }, stepName(row.path, nested.get(row.path))),
      h("td", {}, pill(row.status), reused.has(row.path) ? reusedBadge(null) : null), time,
      h("td", { class: "flownb-num", text: row.attempts > 1 ? row.attempts : "" }), output);
      return tr;
    });
    if (!rows.length) {
      return h("div", { class: "flownb-muted flownb-empty", text: "no step has started yet" });
    }
    return h("table", { class: "flownb-table flownb-step-table" },
      h("thead", {}, h("tr", {}, ["step", "status", "time", "tries", "output"]
        .map((c) => h("th", { text: c })))),
      h("tbody", {}, rows));
  }

  drawTimeline() {
    const data = this.model.get("timeline") || {};
    const bars = data.bars || [];
    if (!bars.length) {
      return h("div", { class: "flownb-muted flownb-empty", text: "no step has started yet" });
    }
    const now = Date.now() / 1000 - this.skew;
    const start = data.start;
    const end = Math.max(...bars.map((b) => (b.end === null ? now : b.end)), start + 1e-3);
    const span = end - start;
    const rows = bars.map((b) => {
      const left = ((b.start - start) / span) * 100;
      const width = Math.max(0.4, (((b.end === null ? now : b.end) - b.start) / span) * 100);
      const took = b.end === null ? "running" : duration(b.end - b.start);
      return h("div", { class: "flownb-gantt-row" + (b.item ? " flownb-gantt-item" : ""),
        "data-path": b.path, onclick: () => this.select(b.path) },
      h("span", { class: "flownb-gantt-label flownb-cut", text: b.path, title: b.path }),
      h("span", { class: "flownb-gantt-track" },
        h("span", { class: `flownb-gantt-bar status-${b.status}`,
          style: `left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%`,
          title: `${b.path}: ${b.status}, ${took} (from +${duration(b.start - start) || "0 ms"})` })));
    });
    const foot = h("div", { class: "flownb-muted flownb-gantt-axis" },
      h("span", { text: "0" }), h("span", { text: duration(span) }));
    const left = data.items_left ? h("div", { class: "flownb-muted",
      text: `and ${data.items_left.toLocaleString()} more items` }) : null;
    // The names' column as wide as the longest name needs (~7 px a character at the rows'
    // 12 px; items are drawn smaller), at most 32%: in px, so every row's bars line up.
    const longest = Math.max(...bars.map((b) => b.path.length * (b.item ? 0.85 : 1)));
    return h("div", { class: "flownb-gantt",
      style: `--flownb-gantt-names:min(32%, ${Math.ceil(longest * 7) + 8}px)` },
    rows, foot, left);
  }

  drawEvents(state) {
    const events = state.events || [];
    const note = state.events_total > events.length ? h("div", { class: "flownb-muted",
      text: `the last ${events.length} of ${state.events_total.toLocaleString()} events` }) : null;
    return h("div", {}, note, h("table", { class: "flownb-table flownb-event-log" },
      h("thead", {}, h("tr", {}, ["time", "event", "step", "payload"]
        .map((c) => h("th", { text: c })))),
      h("tbody", {}, events.map((e) => h("tr", {},
        h("td", { class: "flownb-num", text: e.offset === null ? "" : `+${duration(e.offset)}` }),
        h("td", { text: e.type }),
        h("td", {}, h("span", { class: "flownb-cut", text: e.path, title: e.path })),
        h("td", {}, h("code", { class: "flownb-cut", text: e.payload, title: e.payload })))))));
  }

  drawSide(state) {
    const tab = this.model.get("tab") || "steps";
    for (const b of this.tabs.children) {
      b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    }
    const scroll = this.tabBody.scrollTop;
    let body;
    if (tab === "timeline") body = this.drawTimeline();
    else if (tab === "events") body = this.drawEvents(state);
    else body = this.drawSteps(state);
    fill(this.tabBody, body);
    this.tabBody.scrollTop = scroll;
  }

  drawInspector() {
    const model = this.model;
    const info = model.get("inspected") || {};
    if (!info.path) {
      this.inspector.hidden = true;
      fill(this.inspector);
      return;
    }
    this.inspector.hidden = false;
    const field = (label, value) => (value === null || value === undefined || value === "" ? null
      : h("div", { class: "flownb-field-row" }, h("span", { class: "flownb-label", text: label }),
        h("span", { text: value })));
    const section = (label, body) => (body ? h("div", { class: `flownb-section` },
      h("div", { class: "flownb-label", text: label }), body) : null);
    const took = info.started_at !== null && info.ended_at !== null
      ? duration(info.ended_at - info.started_at) : null;
    const attempts = (info.attempts || []).length > 1 ? h("ol", { class: "flownb-attempts" },
      info.attempts.map((a) => h("li", { text: a.error ? `failed: ${a.error}` :
        (a.attempt === info.attempts.length ? info.status : "failed") }))) : null;
    let items = null;
    if (info.items) {
      const it = info.items;
      const filter = h("select", {
        class: "flownb-item-filter", "aria-label": "show items of status",
        onchange: (e) => {
          model.set("item_status", e.target.value);
          model.set("item_offset", 0);
          model.save_changes();
        },
      }, h("option", { value: "", text: `all (${it.total.toLocaleString()})` }),
      Object.entries(it.counts).map(([s, n]) => h("option", {
        value: s, text: `${s} (${n.toLocaleString()})`, selected: s === it.status })));
      const page = (offset) => () => { model.set("item_offset", offset); model.save_changes(); };
      const last = Math.min(it.offset + it.page.length, it.matching);
      items = h("div", { class: "flownb-item-list" },
        h("div", { class: "flownb-item-bar" }, filter,
          h("span", { class: "flownb-muted",
            text: it.matching ? `${it.offset + 1}–${last} of ${it.matching.toLocaleString()}` : "none" }),
          h("button", { class: "flownb-tool", text: "‹", title: "previous items",
            disabled: it.offset === 0, onclick: page(Math.max(0, it.offset - 50)) }),
          h("button", { class: "flownb-tool", text: "›", title: "next items",
            disabled: last >= it.matching, onclick: page(it.offset + 50) })),
        h("div", { class: "flownb-item-grid" }, it.page.map((item) => h("button", {
          class: `flownb-item status-${item.status}`, title: `${item.path}: ${item.status}`,
          "data-path": item.path, text: `#${item.index}`,
          onclick: () => { model.set("selected", item.path); model.save_changes(); },
        }))));
    }
    fill(this.inspector, 
      h("div", { class: "flownb-inspector-head" },
        h("b", { class: "flownb-cut", text: info.path, title: info.path }), pill(info.status),
        info.cached_from ? reusedBadge(info.cached_from) : null,
        h("span", { class: "flownb-spacer" }),
        // Fork from here (SPEC §3d): the kernel opens a form pre-filled with the step's
        // recorded input below the view; only a step that ran can be forked from.
        this.state && !this.state.read_only ? h("button", {
          class: "flownb-tool flownb-fork", text: "Fork from here", disabled: !info.can_fork,
          title: info.can_fork
            ? "a new run that runs this step again with an input you edit (this run stays as it is)"
            : "only a step that ran can be forked from (not a pending, running, skipped or paused one)",
          onclick: () => model.send({ kind: "fork", path: info.path }),
        }) : null,
        h("button", { class: "flownb-tool", text: "×", title: "close the inspector",
          onclick: () => { model.set("selected", ""); model.save_changes(); } })),
      h("div", { class: "flownb-fields" },
        field("started", clockTime(info.started_at)), field("ended", clockTime(info.ended_at)),
        field("took", took),
        field("attempts", (info.attempts || []).length || null),
        field("resumed", clockTime(info.resumed_at)), field("reused from", info.cached_from
          ? `run ${info.cached_from.run_id}${info.cached_from.path ? ` · ${info.cached_from.path}` : ""}`
          : null)),
      attempts ? section("attempts", attempts) : null,
      section("error", info.error ? h("pre", { class: "flownb-pre flownb-error-text",
        text: info.error }) : null),
      section("traceback", folded(info.traceback, "traceback", model, { error: true })),
      section("suspend payload", folded(info.suspend_payload, "suspend_payload", model)),
      section("resume data", folded(info.resume_data, "resume_data", model)),
      items ? section("items", items) : null,
      section("input", folded(info.input, "input", model)),
      section("output", folded(info.output, "output", model)));
  }

  drawResult(state) {
    let body = null;
    if (state.status === "success" && state.result) {
      body = folded(state.result, "result", this.model);
    } else if ((state.status === "failed" || state.status === "canceled")) {
      body = h("pre", { class: "flownb-pre flownb-error-text", text: state.error || state.status });
    } else if (state.status === "suspended" && state.suspended.length) {
      const paused = state.breakpoints || [];
      const pausedPaths = new Set(paused.map((b) => b.path));
      const waiting = state.suspended.filter((s) => !pausedPaths.has(s.path));
      body = h("div", {},
        waiting.length ? h("div", {}, "waiting for: ",
          h("b", { text: waiting.map((s) => s.path).join(", ") })) : null,
        paused.map((b) => this.drawBreakpoint(b, state)));
    }
    fill(this.result, body ? h("div", { class: "flownb-result" }, body) : "");
  }

  // A step the run is paused before (SPEC §3d): Continue runs it with its input as it is,
  // Edit input opens a form for its input below the view (the kernel makes it).
  drawBreakpoint(pause, state) {
    const model = this.model;
    const send = (kind, busy) => (event) => {
      event.target.disabled = true;
      if (busy) event.target.textContent = busy;
      model.send({ kind, path: pause.path });
    };
    const live = !state.read_only;
    return h("div", { class: "flownb-breakpoint", "data-path": pause.path },
      h("span", { class: "flownb-breakpoint-mark", "aria-hidden": "true" }),  // drawn in CSS
      h("span", {}, "paused before ", h("b", { text: pause.path }), " (breakpoint)"),
      pause.input ? h("code", { class: "flownb-cut flownb-breakpoint-input", text: pause.input,
        title: pause.input }) : null,
      h("span", { class: "flownb-spacer" }),
      live ? h("button", { class: "flownb-button flownb-continue", text: "Continue",
        title: `run ${pause.path} with this input`, onclick: send("continue", "Continuing…") }) : null,
      live ? h("button", { class: "flownb-button flownb-edit-input", text: "Edit input",
        title: `change the input of ${pause.path}, then continue`, onclick: send("edit_input") }) : null);
  }

  // What changed in the workflow since this stored run (SPEC §4b): a notice, one line each.
  drawChanges(state) {
    const changes = state.changes || [];
    if (!changes.length) {
      fill(this.changes);
      return;
    }
    const more = (state.changes_total || 0) - changes.length;
    fill(this.changes, h("div", { class: "flownb-changes", role: "note" },
      h("div", { class: "flownb-changes-title",
        text: "⚠ the workflow changed since this run was stored" }),
      h("ul", {}, changes.map((c) => h("li", {},
        h("code", { text: c.path }), " ", h("b", { text: c.kind }), ": ", c.detail))),
      more > 0 ? h("div", { class: "flownb-muted", text: `and ${more.toLocaleString()} more` }) : null));
  }

  // Forms the kernel opened (Fork from here, Edit input): their own widgets, below.
  drawForms() {
    this.formSlots ||= WidgetSlots.of(this.model, "forms", this.formsBox);
    return this.formSlots.draw();
  }

  update() {
    const state = this.model.get("state") || {};
    if (!state.nodes) return;
    const began = performance.now();
    this.state = state;
    if (state.now !== null && state.now !== undefined) this.skew = Date.now() / 1000 - state.now;
    this.root.dataset.status = state.status;
    this.drawHead(state);
    this.drawChanges(state);
    this.restyle(state);
    this.drawSide(state);
    this.drawResult(state);
    this.tick();
    // Timing hook, always on (benchmarks/browser.py reads it): the ms this update took, the
    // last 1,000 kept in a page global. One push per update: nothing worth measuring.
    const took = (globalThis.__flownbUpdateMs ||= []);
    if (took.push(performance.now() - began) > 1000) took.shift();
  }

  // Running times count up here, so a step that sends nothing still ticks.
  tick() {
    const now = Date.now() / 1000 - this.skew;
    for (const node of this.root.querySelectorAll("[data-since]")) {
      node.textContent = duration(Math.max(0, now - Number(node.dataset.since))) + "…";
    }
  }
}

function render({ model, el }) {
  model.send({ kind: "rendered" }); // a front end draws this view: its display stays as it is
  const view = new LiveView(model, el);
  view.drawGraph();
  view.update();
  view.drawInspector();
  view.drawForms();
  const observer = new ResizeObserver(() => view.layout());
  observer.observe(el);
  requestAnimationFrame(() => view.layout());
  const timer = setInterval(() => {
    view.tick();
    if (view.state && view.state.running && model.get("tab") === "timeline") view.drawSide(view.state);
  }, 250);
  const on = (name, fn) => model.on(`change:${name}`, fn);
  on("graph", () => { view.zoom = null; view.drawGraph(); view.update(); view.layout(); });
  on("direction", () => view.showDirection());
  on("state", () => view.update());
  on("selected", () => { if (view.state) { view.restyle(view.state); view.drawSide(view.state); } });
  on("tab", () => view.state && view.drawSide(view.state));
  on("timeline", () => view.state && view.drawSide(view.state));
  on("inspected", () => view.drawInspector());
  on("forms", () => view.drawForms());
  return () => {
    clearInterval(timer);
    observer.disconnect();
    if (view.formSlots) view.formSlots.dispose();
  };
}

export default { render };
