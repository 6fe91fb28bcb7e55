// flownb's inbox: the browser side of flownb.notebook.inbox.Inbox (parts.js comes first).
//
// The kernel sends the suspended runs (`rows`), the workflows the filter offers and, once a
// run is picked, its live view (`opened`, a widget of its own shown below the list). A
// person's choices go back as traits (`workflow_filter`, `selected`); the refresh button as a
// message (`{kind: "refresh"}`). Every string of a run is set as text.

const COLUMNS = [["workflow", "workflow_id"], ["run id", "run_id"], ["waiting at", "waiting"],
  ["since", "since"], ["asks", "asks"]];
const CODE = new Set(["run_id", "asks"]);

function render({ model, el }) {
  const filter = dropdown("flownb-inbox-filter", "list the runs of one workflow",
    (value) => choose(model, "workflow_filter", value || null));
  const refresh = button("↻ refresh", "read the store's suspended runs again",
    () => model.send({ kind: "refresh" }), "flownb-refresh");
  const list = h("div", { class: "flownb-inbox-list" });
  const hint = h("div", { class: "flownb-inbox-hint" });
  const message = h("div", { class: "flownb-perror flownb-inbox-message", role: "alert" });
  const opened = h("div", { class: "flownb-inbox-opened" });
  el.append(h("div", { class: "flownb-ui flownb-inbox" },
    h("div", { class: "flownb-toolbar" },
      h("span", { class: "flownb-inbox-head" }, h("b", { text: "inbox" }),
        ": runs waiting for a person"),
      h("label", { class: "flownb-inbox-label" }, "workflow ", filter),
      refresh),
    list, hint, message, opened));
  const views = WidgetSlots.of(model, "opened", opened);

  const pick = (runId) => choose(model, "selected", runId);

  function drawList() {
    const rows = model.get("rows") || [];
    const selected = model.get("selected") || "";
    const wanted = model.get("workflow_filter") || "";
    setOptions(filter, [["all workflows", ""], ...(model.get("workflows_known") || []).map(
      (id) => [id, id])], wanted);
    if (!rows.length) {
      const what = wanted ? ` of workflow '${wanted}'` : "";
      fill(list, h("i", { class: "flownb-inbox-empty", text: `no suspended runs${what}` }));
      fill(hint);
      return;
    }
    const head = h("tr", {}, COLUMNS.map(([title]) => h("th", { scope: "col", text: title })),
      h("th", { scope: "col" }, h("span", { class: "flownb-hidden-label", text: "answer" })));
    const body = rows.map((row) => {
      const open = row.run_id === selected;
      return h("tr", {
        class: open ? "flownb-inbox-row flownb-picked" : "flownb-inbox-row",
        "data-run": row.run_id, "aria-selected": String(open),
        onclick: () => pick(row.run_id),
      }, COLUMNS.map(([, key]) => h("td", {},
        CODE.has(key) ? h("code", { text: row[key] || "" }) : row[key] || "")),
      h("td", {}, button(open ? "opened" : "answer", `open run ${row.run_id} and answer it`,
        (event) => {
          event.stopPropagation();
          pick(row.run_id);
        }, "flownb-inbox-answer")));
    });
    fill(list, h("table", { class: "flownb-inbox-entries" },
      h("thead", {}, head), h("tbody", {}, body)));
    fill(hint, "pick one to answer it: its live view and form open below");
  }

  function drawMessage() {
    message.textContent = model.get("message") || "";
  }

  drawList();
  drawMessage();
  views.draw();
  for (const name of ["rows", "selected", "workflow_filter", "workflows_known"]) {
    model.on(`change:${name}`, drawList);
  }
  model.on("change:message", drawMessage);
  model.on("change:opened", () => views.draw());
  return () => views.dispose();
}

export default { render };
