// nbmlops table: one virtualised table for every panel (runs, model versions, drift columns, jobs).
// Only the rows in view (plus a small margin) are in the DOM. Rows arrive in blocks from Python:
// the first block with the model state, later ones on request ({type: "fetch"} -> {type: "rows"}).
// Filter, sort and the chosen columns are traits; Python answers a change with a new `generation`,
// which empties the block cache here.

const OVERSCAN = 8;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatCell(value, kind) {
  if (value === null || value === undefined) return { text: "", tone: "" };
  if (typeof value === "object") return { text: String(value.text ?? ""), tone: value.tone || "" };
  if (typeof value === "number") {
    if (Number.isInteger(value)) return { text: String(value), tone: "" };
    return { text: String(Number(value.toPrecision(6))), tone: "" };
  }
  return { text: String(value), tone: "" };
}

function render({ model, el: host }) {
  const root = el("div", "nbm-table");
  const bar = el("div", "nbm-toolbar");
  const filter = el("input", "nbm-filter");
  filter.type = "text";
  filter.spellcheck = false;
  const chooseBtn = el("button", "nbm-button nbm-columns-button", "Columns");
  const count = el("span", "nbm-count");
  bar.append(filter, chooseBtn, count);
  const error = el("div", "nbm-error");
  const chooser = el("div", "nbm-chooser");
  chooser.hidden = true;
  const viewport = el("div", "nbm-viewport");
  const head = el("div", "nbm-row nbm-head");
  const body = el("div", "nbm-body");
  const empty = el("div", "nbm-empty");
  viewport.append(head, body);
  root.append(bar, error, chooser, viewport, empty);
  host.append(root);

  let blocks = new Map();      // block index -> rows
  let pending = new Set();     // block indexes asked for
  let frame = 0;
  let anchor = null;           // last clicked row index, for shift-click ranges

  const rowHeight = () => model.get("row_height");
  const blockSize = () => model.get("block_size");

  function resetCache() {
    blocks = new Map();
    pending = new Set();
    const first = model.get("first_rows") || [];
    if (first.length) blocks.set(0, first);
    anchor = null;
  }

  function rowAt(index) {
    const rows = blocks.get(Math.floor(index / blockSize()));
    return rows ? rows[index % blockSize()] : undefined;
  }

  function request(block) {
    if (blocks.has(block) || pending.has(block)) return;
    pending.add(block);
    model.send({ type: "fetch", offset: block * blockSize(), limit: blockSize(), generation: model.get("generation") });
  }

  function gridTemplate() {
    return model.get("columns").map((c) => `${c.width || 130}px`).join(" ");
  }

  function drawHead() {
    head.replaceChildren();
    head.style.gridTemplateColumns = gridTemplate();
    const sort = model.get("sort") || [];
    const current = sort.length ? sort[0] : "";
    for (const col of model.get("columns")) {
      const cell = el("div", "nbm-cell nbm-th" + (col.kind === "number" ? " nbm-num" : ""), col.label);
      cell.title = col.sort_key ? `${col.label}: click to sort` : col.label;
      cell.dataset.key = col.key;
      if (col.sort_key) {
        cell.classList.add("nbm-sortable");
        if (current === col.sort_key) cell.append(el("span", "nbm-arrow", " \u25B2"));
        if (current === "-" + col.sort_key) cell.append(el("span", "nbm-arrow", " \u25BC"));
        cell.addEventListener("click", () => {
          // ascending, then descending, then the panel's default order
          let next = [col.sort_key];
          if (current === col.sort_key) next = ["-" + col.sort_key];
          else if (current === "-" + col.sort_key) next = [];
          model.set("sort", next);
          model.save_changes();
        });
      }
      head.append(cell);
    }
  }

  function drawRows() {
    frame = 0;
    const total = model.get("total");
    const h = rowHeight();
    body.style.height = `${total * h}px`;
    body.style.width = `${model.get("columns").reduce((s, c) => s + (c.width || 130), 0)}px`;
    const top = viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / h) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + viewport.clientHeight) / h) + OVERSCAN);
    const selected = new Set(model.get("selected"));
    const columns = model.get("columns");
    const template = gridTemplate();
    const out = [];
    for (let i = first; i < last; i++) {
      const row = rowAt(i);
      const line = el("div", "nbm-row nbm-data");
      line.style.top = `${i * h}px`;
      line.style.height = `${h}px`;
      line.style.gridTemplateColumns = template;
      line.dataset.index = String(i);
      if (!row) {
        request(Math.floor(i / blockSize()));
        line.classList.add("nbm-loading");
        line.append(el("div", "nbm-cell", "\u2026"));
      } else {
        line.dataset.key = row.key;
        if (selected.has(row.key)) line.classList.add("nbm-selected");
        row.cells.forEach((value, j) => {
          const kind = columns[j] ? columns[j].kind : "text";
          const { text, tone } = formatCell(value, kind);
          const cell = el("div", "nbm-cell" + (kind === "number" ? " nbm-num" : "") + (tone ? ` nbm-tone-${tone}` : ""), text);
          cell.title = text;
          line.append(cell);
        });
      }
      out.push(line);
    }
    body.replaceChildren(...out);
    const shown = total === 1 ? "1 row" : `${total.toLocaleString()} rows`;
    const picked = selected.size ? ` \u00B7 ${selected.size} selected` : "";
    count.textContent = shown + picked;
    empty.textContent = total === 0 ? model.get("empty_text") : "";
    empty.hidden = total !== 0;
    viewport.hidden = total === 0;
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(drawRows);
  }

  function drawChooser() {
    chooser.replaceChildren();
    const options = model.get("optional_columns") || [];
    chooseBtn.hidden = options.length === 0;
    const chosen = new Set(model.get("chosen"));
    for (const name of options) {
      const label = el("label", "nbm-choice");
      const box = el("input");
      box.type = "checkbox";
      box.checked = chosen.has(name);
      box.addEventListener("change", () => {
        const now = new Set(model.get("chosen"));
        if (box.checked) now.add(name); else now.delete(name);
        model.set("chosen", options.filter((o) => now.has(o)));
        model.save_changes();
      });
      label.append(box, document.createTextNode(" " + name));
      chooser.append(label);
    }
  }

  body.addEventListener("click", (event) => {
    const line = event.target.closest(".nbm-data");
    if (!line || !line.dataset.key) return;
    const index = Number(line.dataset.index);
    const key = line.dataset.key;
    let selected = model.get("selected").slice();
    if (!model.get("multi")) {
      selected = [key];
    } else if (event.shiftKey && anchor !== null) {
      const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
      for (let i = a; i <= b; i++) {
        const row = rowAt(i);
        if (row && !selected.includes(row.key)) selected.push(row.key);
      }
    } else if (selected.includes(key)) {
      selected = selected.filter((k) => k !== key);
    } else {
      selected.push(key);
    }
    anchor = index;
    model.set("selected", selected);
    model.set("activated", key);
    model.save_changes();
  });

  let typing = 0;
  filter.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      clearTimeout(typing);
      model.set("filter_text", filter.value);
      model.save_changes();
    }
  });
  filter.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { model.set("filter_text", filter.value); model.save_changes(); }, 600);
  });
  chooseBtn.addEventListener("click", () => { chooser.hidden = !chooser.hidden; });
  viewport.addEventListener("scroll", schedule);
  // the view is often created before it is laid out (height 0): draw again once it has a size
  const resized = new ResizeObserver(schedule);
  resized.observe(viewport);

  model.on("msg:custom", (msg) => {
    if (msg.type !== "rows" || msg.generation !== model.get("generation")) return;
    const block = Math.floor(msg.offset / blockSize());
    pending.delete(block);
    blocks.set(block, msg.rows);
    schedule();
  });
  model.on("change:generation", () => { resetCache(); drawHead(); viewport.scrollTop = 0; schedule(); });
  model.on("change:first_rows", () => { resetCache(); schedule(); });
  model.on("change:columns", () => { drawHead(); schedule(); });
  model.on("change:sort", drawHead);
  model.on("change:selected", schedule);
  model.on("change:total", schedule);
  model.on("change:optional_columns", drawChooser);
  model.on("change:chosen", drawChooser);
  model.on("change:error", () => { error.textContent = model.get("error"); error.hidden = !model.get("error"); });
  model.on("change:filter_text", () => { if (document.activeElement !== filter) filter.value = model.get("filter_text"); });

  filter.placeholder = model.get("placeholder");
  filter.value = model.get("filter_text");
  filter.hidden = !model.get("show_filter");
  viewport.style.height = `${model.get("height")}px`;
  error.textContent = model.get("error");
  error.hidden = !model.get("error");
  resetCache();
  drawHead();
  drawChooser();
  drawRows();
  return () => { resized.disconnect(); if (frame) cancelAnimationFrame(frame); };
}

export default { render };
