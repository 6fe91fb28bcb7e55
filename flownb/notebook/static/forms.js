// flownb's forms: the browser side of ResumeForm, InputForm, ForkForm and EditInputForm
// (flownb/notebook/forms.py, one anywidget widget each).
//
// The kernel sends the field tree (`tree`: kinds, paths, titles, hints, options), what each
// input shows (`typed`, `optional_set`), the errors (`field_errors`, `message`) and, once the
// form is answered, its read-only card (`card`). Here they are drawn; what a person does goes
// back as messages ({event: "edit" | "toggle" | "add" | "remove" | "load_json" | "submit" |
// "dismiss" | "step", ...}), which the kernel validates and answers with new traits.
// Every text a person or a workflow wrote is set as text (textContent), never as markup.
// Plain DOM, no dependencies: shipped as it is inside the Python package, after
// parts.js (h, fill, WidgetSlots), with which it makes one ES module.

let uid = 0;

class FormView {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.inputs = new Map(); // path -> {kind, set(raw)} of each drawn input
    this.toggles = new Map(); // path -> the checkbox of an `X | None`
    this.errors = new Map(); // path -> the element showing its error
    this.root = h("div", { class: "flownb-form" });
    this.headingBox = h("div", { class: "flownb-form-heading" });
    this.selectorBox = h("div", { class: "flownb-form-selector" });
    this.fieldsBox = h("div", { class: "flownb-form-fields" });
    this.payloadBox = h("div", { class: "flownb-suspend-payload" });
    this.body = h("div", { class: "flownb-form-body" }, this.fieldsBox, this.payloadBox);
    this.submitButton = h("button", { class: "flownb-submit flownb-form-button mod-primary", type: "button",
      onclick: () => this.send({ event: "submit" }) });
    this.dismissButton = h("button", { class: "flownb-dismiss flownb-form-button", type: "button",
      text: "Close", title: "close this form, changing nothing",
      onclick: () => this.send({ event: "dismiss" }) });
    this.messageBox = h("span", { class: "flownb-form-message", role: "status" });
    this.legend = h("span", { class: "flownb-required-legend" },
      h("span", { class: "flownb-required", text: "*" }), " required");
    this.actions = h("div", { class: "flownb-form-actions" },
      this.submitButton, this.dismissButton, this.messageBox, this.legend);
    this.cardBox = h("div", { class: "flownb-answered" });
    this.childBox = h("div", { class: "flownb-form-children" });
    this.root.append(this.headingBox, this.selectorBox, this.body, this.actions, this.cardBox,
      this.childBox);
    el.append(this.root);
  }

  send(content) {
    this.model.send(content);
  }

  get(name) {
    return this.model.get(name);
  }

  // -- the parts around the fields -------------------------------------------------------

  drawHeading() {
    const parts = this.get("heading") || [];
    fill(this.headingBox, parts.map(([style, text]) => {
      if (style === "b") return h("b", { text });
      if (style === "code") return h("code", { text });
      if (style === "muted") return h("span", { class: "flownb-muted", text });
      return document.createTextNode(text);
    }));
    this.headingBox.hidden = parts.length === 0;
  }

  drawSelector() {
    const steps = this.get("steps") || [];
    if (steps.length < 2) {
      fill(this.selectorBox);
      this.selectorBox.hidden = true;
      return;
    }
    const id = `flownb-step-${++uid}`;
    const select = h("select", { class: "flownb-step-select flownb-input", id,
      onchange: () => this.send({ event: "step", value: select.value }) },
    steps.map((step) => h("option", { value: step, text: step })));
    select.value = this.get("step");
    fill(this.selectorBox, h("label", { for: id, text: "step " }), select);
    this.selectorBox.hidden = false;
  }

  drawPayload() {
    const payload = this.get("payload") || {};
    if ("key" in payload) {
      fill(this.payloadBox, h("b", { text: payload.key }), ": ", payload.text);
    } else if ("json" in payload) {
      fill(this.payloadBox, h("pre", { text: payload.json }));
    } else {
      fill(this.payloadBox);
    }
    this.payloadBox.hidden = !("key" in payload || "json" in payload);
  }

  drawActions() {
    this.submitButton.textContent = this.get("submit_label") || "Submit";
    this.submitButton.disabled = Boolean(this.get("disabled"));
    this.dismissButton.hidden = !this.get("dismissable");
    this.messageBox.textContent = this.get("message") || "";
    this.messageBox.classList.toggle("mod-error", !this.get("message_ok"));
    this.legend.hidden = !hasRequired(this.get("tree") || {});
  }

  drawCard() {
    const card = this.get("card") || "";
    // The card is built by answered_card_html in the kernel, every user string in it
    // escaped there (flownb._text.escape_html): markup of flownb's own, not of a person.
    this.cardBox.innerHTML = card;
    this.cardBox.hidden = !card;
    for (const part of [this.headingBox, this.body, this.actions]) part.hidden = Boolean(card);
    if (card) {
      // Read-only: the inputs go (not just hidden), so nothing can be typed or tabbed into.
      this.selectorBox.hidden = true;
      fill(this.fieldsBox);
      fill(this.actions); // its buttons too: a card has nothing to press
      this.inputs.clear();
      this.toggles.clear();
      this.errors.clear();
    } else {
      if (!this.actions.firstChild) {
        fill(this.actions, this.submitButton, this.dismissButton, this.messageBox, this.legend);
      }
      this.drawHeading();
      this.drawSelector();
    }
  }

  // A run's live view below the form (InputForm, ForkForm): a widget of its own.
  drawChildren() {
    this.childSlots ||= WidgetSlots.of(this.model, "children", this.childBox);
    return this.childSlots.draw();
  }

  // -- the fields --------------------------------------------------------------------------

  drawFields() {
    if (this.get("card")) return;
    this.inputs.clear();
    this.toggles.clear();
    this.errors.clear();
    const tree = this.get("tree") || {};
    fill(this.fieldsBox, tree.kind ? this.field(tree) : null);
    this.applyValues();
    this.applyErrors();
    this.drawActions();
  }

  field(spec) {
    if (spec.kind === "group") return this.group(spec);
    if (spec.kind === "optional") return this.optional(spec);
    if (spec.kind === "list") return this.labelled(spec, this.list(spec));
    return this.labelled(spec, this.scalar(spec));
  }

  labelled(spec, control, toggle = null) {
    const id = ["INPUT", "SELECT", "TEXTAREA"].includes(control.tagName) ? control.id : "";
    const label = h(id ? "label" : "span", { class: "flownb-form-label", for: id || null },
      h("b", { text: spec.title }),
      spec.required ? h("span", { class: "flownb-required", title: "required", text: "*" }) : null);
    const error = h("span", { class: "flownb-field-error", "data-path": spec.path, role: "alert" });
    this.errors.set(spec.path, error);
    // The title, and beside it the input with its error and hint under it (all three wrap
    // within their column; the column goes under the title when there is no room beside).
    return h("div", { class: `flownb-field${spec.required ? " flownb-field-required" : ""}`,
      "data-path": spec.path, "data-kind": spec.kind },
    h("div", { class: "flownb-form-row" }, label,
      h("div", { class: "flownb-field-main" },
        h("div", { class: "flownb-control" }, toggle, control), error,
        spec.hint ? h("div", { class: "flownb-hint", text: spec.hint }) : null)));
  }

  group(spec) {
    const parts = [];
    if (!spec.top) {
      const error = h("span", { class: "flownb-field-error", "data-path": spec.path, role: "alert" });
      this.errors.set(spec.path, error);
      parts.push(h("div", { class: "flownb-group-heading" }, h("b", { text: spec.title }),
        spec.description ? h("span", { class: "flownb-hint", text: ` ${spec.description}` }) : null,
        error));
    }
    return h("div", { class: `flownb-group${spec.top ? " mod-top" : ""}`, "data-path": spec.path },
      parts, (spec.children || []).map((child) => this.field(child)));
  }

  optional(spec) {
    const box = h("input", { type: "checkbox", title: "whether a value is set",
      onchange: () => this.send({ event: "toggle", path: spec.path, value: box.checked }) });
    this.toggles.set(spec.path, box);
    const toggle = h("label", { class: "flownb-set-toggle" }, box, " set");
    const inner = spec.inner;
    if (inner.kind === "group" || inner.kind === "list" || inner.kind === "optional") {
      return h("div", { class: "flownb-optional" }, toggle, this.field(inner));
    }
    return this.labelled(inner, this.scalar(inner), toggle);
  }

  scalar(spec) {
    const path = spec.path;
    const id = `flownb-input-${++uid}`;
    const edit = (value) => this.send({ event: "edit", path, value });
    if (spec.kind === "checkbox") {
      const box = h("input", { type: "checkbox", id, class: "flownb-checkbox",
        onchange: () => edit(box.checked) });
      this.inputs.set(path, { node: box, set: (raw) => { box.checked = Boolean(raw); } });
      return box;
    }
    if (spec.kind === "yesno") {
      const buttons = (spec.options || []).map((label, i) => h("button", {
        type: "button", class: "flownb-choice flownb-form-button", text: label,
        "aria-pressed": "false", onclick: () => { show(i); edit(i); } }));
      const show = (raw) => buttons.forEach((b, i) => {
        b.classList.toggle("mod-active", raw === i);
        b.setAttribute("aria-pressed", String(raw === i));
      });
      const group = h("div", { class: "flownb-yes-no", role: "group", id }, buttons);
      this.inputs.set(path, { node: group, set: show });
      return group;
    }
    if (spec.kind === "dropdown") {
      const select = h("select", { id, class: "flownb-input flownb-dropdown",
        onchange: () => edit(select.value === "" ? null : Number(select.value)) },
      h("option", { value: "", text: "choose…", disabled: true }),
      (spec.options || []).map((label, i) => h("option", { value: String(i), text: label })));
      this.inputs.set(path, { node: select,
        set: (raw) => { select.value = raw === null || raw === undefined ? "" : String(raw); } });
      return select;
    }
    const long = spec.kind === "textarea" || spec.kind === "json";
    const input = h(long ? "textarea" : "input", {
      id, class: `flownb-input${long ? " flownb-textarea" : ""}${spec.kind === "number" ? " flownb-number" : ""}`,
      type: long ? null : "text", rows: long ? (spec.kind === "json" ? 3 : 4) : null,
      placeholder: spec.placeholder || null, spellcheck: spec.kind === "text" || spec.kind === "textarea" ? null : "false",
      inputmode: spec.kind === "number" ? "decimal" : null,
      oninput: () => edit(input.value) });
    this.inputs.set(path, { node: input, set: (raw) => {
      const text = raw === null || raw === undefined ? "" : String(raw);
      if (input.value !== text) input.value = text;
    } });
    return input;
  }

  list(spec) {
    const id = `flownb-list-${++uid}`;
    const rows = (spec.items || []).map((item, i) => h("div", { class: "flownb-list-row" },
      this.field(item),
      h("button", { type: "button", class: "flownb-remove-row flownb-form-button", text: "✕",
        title: `remove item ${i}`, "aria-label": `remove item ${i}`,
        onclick: () => this.send({ event: "remove", path: spec.path, index: i }) })));
    const paste = h("textarea", { class: "flownb-input flownb-paste", rows: 1, spellcheck: "false",
      placeholder: "or paste a JSON list", title: "paste a JSON list here, then load it",
      "aria-label": `JSON list for ${spec.title}` });
    return h("div", { class: "flownb-list", id },
      h("div", { class: "flownb-list-rows" }, rows),
      h("div", { class: "flownb-list-tools" },
        h("button", { type: "button", class: "flownb-add-row flownb-form-button", text: spec.add_label,
          title: "add a row", onclick: () => this.send({ event: "add", path: spec.path }) }),
        paste,
        h("button", { type: "button", class: "flownb-load-json flownb-form-button", text: spec.load_label,
          title: "replace the rows with the pasted list",
          onclick: () => this.send({ event: "load_json", path: spec.path, text: paste.value }) })));
  }

  // What the kernel holds now; an input being typed into keeps what is typed there (the
  // kernel's copy may be a keystroke behind).
  applyValues() {
    const typed = this.get("typed") || {};
    const focused = this.root.getRootNode().activeElement;
    for (const [path, input] of this.inputs) {
      if (input.node === focused && input.node.tagName !== "SELECT") continue;
      input.set(path in typed ? typed[path] : null);
    }
    const flags = this.get("optional_set") || {};
    for (const [path, box] of this.toggles) box.checked = Boolean(flags[path]);
  }

  applyErrors() {
    const errors = this.get("field_errors") || {};
    for (const [path, node] of this.errors) {
      node.textContent = errors[path] || "";
      const field = node.closest(".flownb-field, .flownb-group");
      if (field) field.classList.toggle("mod-invalid", Boolean(errors[path]));
    }
  }
}

function hasRequired(spec) {
  if (!spec || !spec.kind) return false;
  if (spec.required) return true;
  return [spec.inner, ...(spec.children || []), ...(spec.items || [])].some(hasRequired);
}

function render({ model, el }) {
  const view = new FormView(model, el);
  view.drawPayload();
  view.drawFields();
  view.drawCard();
  view.drawChildren();
  const on = (names, fn) => names.split(" ").forEach((name) => model.on(`change:${name}`, fn));
  on("tree", () => view.drawFields());
  on("typed optional_set", () => view.applyValues());
  on("field_errors", () => view.applyErrors());
  on("message message_ok disabled submit_label dismissable", () => view.drawActions());
  on("heading", () => view.drawHeading());
  on("steps step", () => view.drawSelector());
  on("payload", () => view.drawPayload());
  on("card", () => view.drawCard());
  on("children", () => view.drawChildren());
  return () => {
    if (view.childSlots) view.childSlots.dispose();
  };
}

export default { render };
