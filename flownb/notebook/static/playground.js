// flownb's playground: the browser side of flownb.notebook.playground (parts.js comes first).
//
// Two widgets share this module, told apart by their `part` trait:
// * "tabs" (RegistryView): one tab per workflow; each tab shows a WorkflowPanel widget,
//   attached the first time its tab opens;
// * "panel" (WorkflowPanel): the workflow's description and graph, its input form (a widget
//   of its own), and its stored runs: a status filter, pages, a count, the list of the page's
//   runs, and the opened run's live view (a widget of its own).
// A person's choices go back as traits (`selected`, `status_filter`, `selected_index`);
// actions as messages (`{kind: "page", page}`, `{kind: "refresh"}`). The kernel sends the
// rows, the count and the pages; the Python side decides what is listed and opened.

const ROWS = 6; // rows of the runs list shown at once (it scrolls past that)

function renderTabs({ model, el }) {
  const bar = h("div", { class: "flownb-tab-bar", role: "tablist" });
  const body = h("div", { class: "flownb-tab-panels" });
  const root = h("div", { class: "flownb-ui flownb-registry-view" }, bar, body);
  el.append(root);
  const pages = new Map(); // model id -> {page, slots}

  function draw() {
    const titles = model.get("titles") || [];
    const refs = widgetIds(model, "tabs");
    const index = model.get("selected_index") || 0;
    fill(bar, titles.map((title, i) => h("button", {
      class: "flownb-tab", role: "tab", text: title, title,
      "aria-selected": String(i === index), tabindex: i === index ? 0 : -1,
      onclick: () => choose(model, "selected_index", i),
      onkeydown: (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const next = (i + step + titles.length) % titles.length;
        choose(model, "selected_index", next);
        requestAnimationFrame(() => bar.children[next] && bar.children[next].focus());
      },
    })));
    for (const [id, part] of pages) {
      if (!refs.includes(id)) {
        part.page.remove();
        part.slots.dispose();
        pages.delete(id);
      }
    }
    refs.forEach((id, i) => {
      let part = pages.get(id);
      if (!part && i === index) {
        // One tab's panel at a time is made: the others when first opened.
        const page = h("div", { class: "flownb-tab-page", role: "tabpanel" });
        part = { page, slots: new WidgetSlots(model.widget_manager, () => [id], page, "tab") };
        pages.set(id, part);
        body.append(page);
        part.slots.draw();
      }
      if (part) part.page.hidden = i !== index;
    });
  }

  draw();
  model.on("change:titles", draw);
  model.on("change:tabs", draw);
  model.on("change:selected_index", draw);
  return () => {
    for (const part of pages.values()) part.slots.dispose();
  };
}

function renderPanel({ model, el }) {
  const about = h("div", { class: "flownb-pg-about" });
  const graph = h("div", { class: "flownb-workflow-graph" });
  const form = h("div", { class: "flownb-pg-form" });
  const filter = dropdown("flownb-run-filter", "list the runs of one status",
    (value) => choose(model, "status_filter", value));
  const page = (by) => () => model.send({ kind: "page", page: (model.get("page") || 0) + by });
  const newer = button("‹ newer", "the newer runs", page(-1), "flownb-newer");
  const older = button("older ›", "the older runs", page(1), "flownb-older");
  const refresh = button("↻ refresh", "read the stored runs again",
    () => model.send({ kind: "refresh" }), "flownb-refresh");
  const count = h("span", { class: "flownb-run-count", "aria-live": "polite" });
  const runs = h("select", { class: "flownb-runs", size: ROWS, "aria-label": "stored runs",
    onchange: () => choose(model, "selected", runs.value) });
  const list = h("div", { class: "flownb-run-list" }, runs);
  const opened = h("div", { class: "flownb-pg-opened" });
  el.append(h("div", { class: "flownb-ui flownb-workflow-panel" },
    about,
    h("div", { class: "flownb-pg-top" }, graph, form),
    h("div", { class: "flownb-pg-heading" }, h("b", { text: "stored runs" }),
      h("span", { text: " (pick one to open it)" })),
    h("div", { class: "flownb-toolbar" }, filter, newer, older, refresh, count),
    list,
    opened));
  const forms = WidgetSlots.of(model, "input_form", form);
  const views = WidgetSlots.of(model, "opened", opened);

  function drawAbout() {
    const info = model.get("about") || {};
    fill(about, h("b", { text: info.id || "" }),
      info.description ? h("p", { text: info.description }) : null);
    // The graph is SVG that Graphviz laid out in the kernel from escaped labels.
    graph.innerHTML = model.get("graph") || "";
  }

  function drawRuns() {
    const rows = model.get("rows") || [];
    const selected = model.get("selected") || "";
    setOptions(runs, rows.map((r) => [r.label, r.run_id]), selected);
    if (!rows.some((r) => r.run_id === selected)) runs.selectedIndex = -1;
    runs.size = Math.max(2, Math.min(ROWS, rows.length));
    const picked = rows.find((r) => r.run_id === selected);
    runs.title = picked ? picked.label : "";
    list.hidden = rows.length === 0;
    const statuses = model.get("statuses") || [];
    setOptions(filter, [["all statuses", ""], ...statuses.map((s) => [s, s])],
      model.get("status_filter") || "");
    const at = model.get("page") || 0;
    newer.disabled = at <= 0;
    older.disabled = at >= (model.get("pages") || 1) - 1;
    const text = model.get("count") || "";
    fill(count, rows.length ? text : h("i", { text }));
  }

  drawAbout();
  drawRuns();
  forms.draw();
  views.draw();
  model.on("change:about", drawAbout);
  model.on("change:graph", drawAbout);
  for (const name of ["rows", "selected", "status_filter", "page", "pages", "count"]) {
    model.on(`change:${name}`, drawRuns);
  }
  model.on("change:input_form", () => forms.draw());
  model.on("change:opened", () => views.draw());
  return () => {
    forms.dispose();
    views.dispose();
  };
}

function render(args) {
  return args.model.get("part") === "tabs" ? renderTabs(args) : renderPanel(args);
}

export default { render };
