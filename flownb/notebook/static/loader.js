// Every flownb widget's ES module: these few lines, after a first one naming its bundle
// (`const BUNDLE = "live";`, added by flownb/notebook/_static.py). The code a widget draws
// with (parts.js and its own file, and its style sheet) is held once per kernel by a hidden
// widget, flownb's assets; this loader imports it from there. A notebook saved with its
// widgets' state so keeps each file once, not once per widget shown.

// Each bundle's module, imported once per page however many widgets draw with it.
const modules = (globalThis.__flownbModules ??= new Map());

// The assets' entry for BUNDLE: there now, or once the kernel has sent it.
function entryOf(assets) {
  return new Promise((resolve) => {
    const ready = () => {
      const entry = (assets.get("bundles") || {})[BUNDLE];
      if (entry) {
        assets.off("change:bundles", ready);
        resolve(entry);
      }
    };
    assets.on("change:bundles", ready);
    ready();
  });
}

function addStyle(css) {
  const id = `flownb-style-${BUNDLE}`;
  let style = document.getElementById(id);
  if (!style) {
    style = document.createElement("style");
    style.id = id;
    document.head.append(style);
  }
  if (style.textContent !== css) style.textContent = css;
}

// The assets model: widgets restored together (from the kernel after a page reload, or
// from a notebook's saved state) may come before it, so a missing one is waited for.
async function assetsOf(model) {
  const id = (model.get("_assets") || "").replace(/^IPY_MODEL_/, "");
  for (let waited = 0; ; waited += 50) {
    try {
      return await model.widget_manager.get_model(id);
    } catch (error) {
      if (waited >= 10000) throw new Error(`flownb: no assets widget ${id} (${error})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function load(model) {
  const assets = await assetsOf(model);
  const { esm, css } = await entryOf(assets);
  addStyle(css);
  let module = modules.get(esm);
  if (!module) {
    const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
    module = import(/* webpackIgnore: true */ url).finally(() => URL.revokeObjectURL(url));
    modules.set(esm, module);
  }
  return (await module).default;
}

export default {
  async render(context) {
    const widget = await load(context.model);
    return widget.render(context);
  },
};
