// The parts every flownb widget is built from (the live view, the forms, the playground,
// the inbox): the Python side (flownb/notebook/_static.py) puts this file in front of
// live.js, forms.js, playground.js or inbox.js to make one ES module, so it exports nothing.
// Plain DOM, no dependencies; user text only ever goes in as text (textContent).

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// node.replaceChildren without the null and false parts (it would write them as text).
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

// A button of these widgets (the live view's look).
function button(text, title, onclick, cls = "") {
  return h("button", { class: `flownb-pbutton ${cls}`.trim(), title, text, onclick });
}

// A dropdown of [label, value] pairs; `pick(value)` when a person changes it.
function dropdown(cls, label, pick) {
  const select = h("select", { class: cls, "aria-label": label,
    onchange: () => pick(select.value) });
  return select;
}

function setOptions(select, pairs, value) {
  const same = select.options.length === pairs.length &&
    pairs.every(([label, v], i) => select.options[i].value === v && select.options[i].text === label);
  if (!same) fill(select, pairs.map(([label, v]) => h("option", { value: v, text: label })));
  select.value = value;
}

// An ipywidgets view shown inside this one. Its boxes style and lay out their children once
// Lumino attaches them (the "after-attach" message), so it is attached the Lumino way, once
// the slot is in the document.
async function attachWidget(view, slot) {
  const widget = view.luminoWidget || view.pWidget;
  for (let i = 0; i < 400 && !slot.isConnected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (widget && widget.constructor && widget.constructor.attach && slot.isConnected) {
    try {
      widget.constructor.attach(widget, slot);
      return;
    } catch (error) {
      console.warn("flownb: could not attach a widget the Lumino way", error);
    }
  }
  slot.append(view.el);
  view.trigger("displayed");
}

// The model ids of a list trait of widgets (serialized as "IPY_MODEL_<id>" references).
function widgetIds(model, name) {
  return (model.get(name) || []).map((r) => String(r).replace(/^IPY_MODEL_/, ""));
}

// The widgets `ids()` names shown in `box`, each once and in that order; a widget that left
// the list has its view removed. `manager` is the widget manager of the widget showing them.
class WidgetSlots {
  constructor(manager, ids, box, what) {
    this.manager = manager;
    this.ids = ids;
    this.box = box;
    this.what = what; // named in an error shown in place of a widget that failed
    this.shown = new Map(); // model id -> {slot, view}
  }

  // The widgets of the list trait `name` of `model`.
  static of(model, name, box) {
    return new WidgetSlots(model.widget_manager, () => widgetIds(model, name), box, name);
  }

  async draw() {
    const ids = this.ids();
    for (const [id, part] of this.shown) {
      if (ids.includes(id)) continue;
      this.shown.delete(id);
      part.slot.remove();
      try {
        if (part.view) part.view.remove();
      } catch (error) {
        console.warn("flownb: could not remove a widget's view", error);
      }
    }
    const manager = this.manager;
    for (const id of ids) {
      if (this.shown.has(id) || !manager) continue;
      const part = { slot: h("div", { class: "flownb-child", "data-model": id }), view: null };
      this.shown.set(id, part);
      this.box.append(part.slot);
      try {
        const child = await manager.get_model(id);
        part.view = await manager.create_view(child, {});
        if (this.shown.get(id) !== part) {
          part.view.remove(); // gone from the list while it was being made
          continue;
        }
        await attachWidget(part.view, part.slot);
      } catch (error) {
        part.slot.append(h("div", { class: "flownb-perror", text: `${this.what}: ${error}` }));
      }
    }
    for (const id of ids) this.box.append(this.shown.get(id).slot); // the list's order
  }

  dispose() {
    for (const part of this.shown.values()) {
      try {
        if (part.view) part.view.remove();
      } catch (error) {
        console.warn("flownb: could not remove a widget's view", error);
      }
    }
    this.shown.clear();
  }
}

// Set a trait from the page and send it to the kernel.
function choose(model, name, value) {
  model.set(name, value);
  model.save_changes();
}
