// cleanclf review report. Everything from the verdicts and the dump is data: it reaches the
// page only through textContent / text nodes, never through innerHTML.
(function () {
  "use strict";
  function readJSON(id) { var n = document.getElementById(id); return n ? JSON.parse(n.textContent) : null; }
  var META = readJSON("meta"), QUEUE = readJSON("queue-data"), CATS = META.categories;
  var KEY = "cleanclf-report:" + META.report_id;
  var cache = {};
  function detail(n) { if (!(n in cache)) cache[n] = readJSON("d-" + n); return cache[n]; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) { for (var i = 1; i < arguments.length; i++) { var c = arguments[i]; if (c === null || c === undefined) continue; parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c))); } return parent; }
  function fmt(x) { return x === null || x === undefined ? "–" : Number(x).toFixed(3); }

  // ---------------------------------------------------------------- decisions (localStorage)
  var decisions = {}, storageOK = true;
  try { decisions = JSON.parse(window.localStorage.getItem(KEY) || "{}") || {}; } catch (e) { storageOK = false; decisions = {}; }
  function save() {
    try { window.localStorage.setItem(KEY, JSON.stringify(decisions)); } catch (e) { storageOK = false; }
    updateDecided();
  }
  function dkey(n, cat) { return QUEUE[n].id + "\u0000" + cat; }
  function updateDecided() {
    var k = Object.keys(decisions).filter(function (x) { return decisions[x].decision; }).length;
    document.getElementById("decided").textContent = k + " decisions" + (storageOK ? " (saved in this browser)" : " (NOT saved: this browser blocks localStorage for files; export before closing)");
  }
  function setDecision(n, cat, field, value) {
    var d = detail(n), k = dkey(n, cat);
    var rec = decisions[k] || { account_id: d.id, category: cat, decision: "", note: "", model: d.model, post_ids: d.flagged_posts[cat] || [] };
    rec[field] = value;
    rec.time = new Date().toISOString();
    decisions[k] = rec;
    save();
  }
  function exportDecisions() {
    var lines = Object.keys(decisions).sort().map(function (k) { return decisions[k]; })
      .filter(function (r) { return r.decision; })
      .map(function (r) { return JSON.stringify({ account_id: r.account_id, category: r.category, decision: r.decision, note: r.note || "", model: r.model, time: r.time, post_ids: r.post_ids || [], report: META.report_id }); });
    var blob = new Blob([lines.join("\n") + (lines.length ? "\n" : "")], { type: "application/x-ndjson" });
    var a = document.getElementById("download");
    if (a.href) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(blob);
    a.download = "decisions-" + META.report_id + ".jsonl";
    a.textContent = "decisions-" + META.report_id + ".jsonl (" + lines.length + ")";
    a.hidden = false;
    a.click();
  }

  // ---------------------------------------------------------------- queue
  var page = 0, filtered = QUEUE;
  function applyFilters() {
    var cat = document.getElementById("f-cat").value, band = document.getElementById("f-band").value;
    var q = document.getElementById("f-q").value.trim().toLowerCase();
    filtered = QUEUE.filter(function (r) {
      var cats = cat ? [cat] : CATS;
      var ok = cats.some(function (c) { var b = r.bands[c]; return band ? b === band : (b === "label" || b === "review" || (r.escalate && !cat)); });
      if (!ok) return false;
      if (!q) return true;
      if (r.id.toLowerCase().indexOf(q) >= 0) return true;
      return r.contacts.some(function (c) { return c.toLowerCase().indexOf(q) >= 0; });
    });
    page = 0; renderQueue();
  }
  function decidedText(r) {
    var out = [];
    CATS.forEach(function (c) { var d = decisions[r.id + "\u0000" + c]; if (d && d.decision) out.push(c + ": " + d.decision); });
    return out.join(", ");
  }
  function renderQueue() {
    var size = META.page_size, pages = Math.max(1, Math.ceil(filtered.length / size));
    if (page >= pages) page = pages - 1;
    var body = document.getElementById("q-body"), frag = document.createDocumentFragment();
    filtered.slice(page * size, (page + 1) * size).forEach(function (r, i) {
      var tr = el("tr"); tr.dataset.n = String(r.n);
      add(tr, el("td", "num", page * size + i + 1));
      var idc = el("td", "t", r.id); if (r.escalate) add(idc, " ", el("span", "escalate", "ESCALATE"));
      add(tr, idc, el("td", "num", r.risk.toFixed(2)), el("td", null, r.labels.join(", ")));
      CATS.forEach(function (c) { add(tr, el("td", "num band-" + (r.bands[c] || "none"), fmt(r.scores[c]) + (r.bands[c] ? " " + r.bands[c] : ""))); });
      add(tr, el("td", "muted", decidedText(r)));
      frag.appendChild(tr);
    });
    body.replaceChildren(frag);
    document.getElementById("q-count").textContent = filtered.length + " of " + QUEUE.length + " accounts";
    document.getElementById("p-info").textContent = "page " + (page + 1) + " of " + pages;
    document.getElementById("p-prev").disabled = page === 0;
    document.getElementById("p-next").disabled = page >= pages - 1;
  }

  // ---------------------------------------------------------------- account view
  function textBlock(t, cls) {
    var box = el("div", "seg " + (cls || ""));
    if (!t) return box;
    t.segs.forEach(function (s) {
      if (s[1] === null) box.appendChild(document.createTextNode(s[0]));
      else { var m = el("mark", null, s[0]); m.title = s[1]; box.appendChild(m); }
    });
    if (t.shown) add(box, el("div", "note", "showing characters " + t.shown[0] + "–" + t.shown[1] + " of " + t.length + " (text cut for display)"));
    return box;
  }
  function scoresLine(scores) { return CATS.filter(function (c) { return scores[c] !== null && scores[c] !== undefined; }).map(function (c) { return c + " " + fmt(scores[c]); }).join(" · "); }
  function decisionUI(n, cat, d) {
    var row = el("div", "decision"), k = dkey(n, cat), cur = decisions[k] || {};
    add(row, el("strong", null, cat), el("span", "band-" + (d.bands[cat] || "none"), d.bands[cat] || "not scored"));
    ["confirmed", "rejected", "unsure"].forEach(function (v) {
      var lab = el("label"), inp = el("input");
      inp.type = "radio"; inp.name = "dec-" + n + "-" + cat; inp.value = v; inp.checked = cur.decision === v;
      inp.dataset.cat = cat;
      inp.addEventListener("change", function () { setDecision(n, cat, "decision", v); });
      add(lab, inp, " " + v); add(row, lab);
    });
    var note = el("input"); note.type = "text"; note.placeholder = "note"; note.value = cur.note || ""; note.dataset.cat = cat; note.className = "dec-note";
    note.addEventListener("change", function () { setDecision(n, cat, "note", note.value); });
    add(row, note);
    return row;
  }
  function renderAccount(n) {
    var d = detail(n), box = document.getElementById("account");
    box.replaceChildren();
    if (!d) { add(box, el("p", null, "No such account in this report.")); return; }
    var nav = el("p"), back = el("a", null, "‹ queue"); back.href = "#queue"; add(nav, back);
    if (n > 0) { var pv = el("a", null, "previous"); pv.href = "#account/" + (n - 1); add(nav, " · ", pv); }
    if (n < QUEUE.length - 1) { var nx = el("a", null, "next"); nx.href = "#account/" + (n + 1); add(nav, " · ", nx); }
    add(box, nav);
    var h = el("h2"); add(h, "Account ", el("span", "t acc-id", d.id)); add(box, h);
    if (d.escalate) add(box, el("p", "banner", "ESCALATED: signs of minors. Follow the escalation procedure; images of this account are not embedded."));
    add(box, el("p", null, "labels: " + (d.labels.join(", ") || "none") + " · model " + d.model + (d.review ? " · review" : "")));
    var t = el("table", "grid"), hr = el("tr"); add(hr, el("th", null, "category"), el("th", null, "score"), el("th", null, "band"), el("th", null, "flagged posts"));
    add(t, hr);
    CATS.forEach(function (c) { var tr = el("tr"); add(tr, el("td", null, c), el("td", "num", fmt(d.scores[c])), el("td", "band-" + (d.bands[c] || "none"), d.bands[c] || "–"), el("td", "num", (d.counts.flagged || {})[c])); add(t, tr); });
    add(box, t);
    var c = d.counts || {};
    add(box, el("p", "muted", "posts " + (c.posts || 0) + " · with text " + (c.posts_with_text || 0) + " · images " + (c.images || 0) + " · flagged images " + (c.flagged_images || 0) + " · repeated-contact posts " + (c.repeated_contact_posts || 0) + " · escalated posts " + (c.escalated_posts || 0) + " · errors " + (c.errors || 0)));
    if (d.image_status) add(box, el("p", "warn", "image status: " + d.image_status));
    d.warnings.forEach(function (w) { add(box, el("p", "warn t", w)); });

    add(box, el("h3", null, "Decisions"));
    var dec = el("div", "card decisions"); CATS.forEach(function (cat) { add(dec, decisionUI(n, cat, d)); }); add(box, dec);

    if (d.rules.length) { add(box, el("h3", null, "Why (account rule)")); var ul = el("ul"); d.rules.forEach(function (r) { add(ul, el("li", null, r.category + ": " + r.reason)); }); add(box, ul); }

    add(box, el("h3", null, "Profile"));
    var pc = el("div", "card");
    if (d.profile) { add(pc, el("div", "muted", "nickname"), textBlock(d.profile.nickname, "profile"), el("div", "muted", "bio"), textBlock(d.profile.bio, "profile")); }
    else add(pc, el("p", "note", "profile text not available (no --dump, or the account is not in it)"));
    if (d.profile_scores) add(pc, el("div", "muted", "profile scores: " + scoresLine(d.profile_scores)));
    if (d.profile_hits.length) add(pc, el("div", "muted t", "hits: " + d.profile_hits.join(" | ")));
    add(box, pc);

    add(box, el("h3", null, "Evidence"));
    if (!d.evidence_posts.length) add(box, el("p", "note", "no post evidence"));
    d.evidence_posts.forEach(function (e) {
      var card = el("div", "card evidence");
      var head = el("div"); add(head, el("strong", null, e.category + " " + fmt(e.score)), " · post ", el("span", "t", e.post_id), el("span", "muted", e.source === "dump" ? " · original text" : " · excerpt from the verdict"));
      add(card, head, textBlock(e.text, "evidence-text"));
      if (e.terms.length) add(card, el("div", "muted t", e.terms.join(" | ")));
      add(box, card);
    });
    d.omitted.forEach(function (o) { add(box, el("p", "note", o)); });

    if (d.contacts.length) {
      add(box, el("h3", null, "Contacts"));
      var ct = el("table", "grid contacts"), ch = el("tr"); add(ch, el("th", null, "type"), el("th", null, "value"), el("th", null, "posts"), el("th", null, "where")); add(ct, ch);
      d.contacts.forEach(function (k) { var tr = el("tr"); add(tr, el("td", null, k.type), el("td", "t contact", k.value), el("td", "num", k.count), el("td", "muted", (k.in_profile ? "profile " : "") + (k.in_flagged_post ? "flagged posts " : "") + (k.extended ? "(extended format: the model never saw it)" : ""))); add(ct, tr); });
      add(box, ct);
    }

    if (d.images.length) {
      add(box, el("h3", null, "Images"));
      if (d.images_note) add(box, el("p", "note", d.images_note));
      var th = el("div", "thumbs");
      d.images.forEach(function (im) {
        var f = el("div", "thumb");
        if (im.thumb && /^data:image\/jpeg;base64,[A-Za-z0-9+\/=]+$/.test(im.thumb)) {
          var img = el("img"); img.alt = "image (blurred: click to show)"; img.src = im.thumb; img.title = "click to show / blur";
          img.addEventListener("click", function () { img.classList.toggle("revealed"); });
          add(f, img);
        } else add(f, el("div", "note", "no preview"));
        add(f, el("div", (im.flagged ? "band-label" : "muted"), "lewd_images " + fmt(im.score) + (im.flagged ? " flagged" : "")), el("div", "muted t", im.path + " (post " + im.post_id + ")"));
        add(th, f);
      });
      add(box, th);
    }

    add(box, el("h3", null, "Posts behind the verdict"));
    if (!d.posts.length) add(box, el("p", "note", "the verdict lists no posts (scored with --posts none?)"));
    else {
      var pt = el("table", "grid posts"), ph = el("tr"); add(ph, el("th", null, "post"), el("th", null, "labels"), el("th", null, "scores"), el("th", null, "text")); add(pt, ph);
      d.posts.forEach(function (p) { var tr = el("tr"); add(tr, el("td", "t", p.id + (p.escalate ? " ⚠" : "")), el("td", null, p.labels.join(", ")), el("td", "muted", scoresLine(p.scores)), add(el("td"), p.text ? textBlock(p.text) : el("span", "note", "–"))); add(pt, tr); });
      add(box, pt);
      if (d.posts_omitted) add(box, el("p", "note", d.posts_omitted + " more posts not listed"));
    }
  }

  // ---------------------------------------------------------------- routing
  function route() {
    var h = window.location.hash || "#overview", m = /^#account\/(\d+)$/.exec(h), view = m ? "account" : (h === "#queue" ? "queue" : "overview");
    ["overview", "queue", "account"].forEach(function (v) { document.getElementById(v).hidden = v !== view; });
    document.getElementById("nav-overview").classList.toggle("active", view === "overview");
    document.getElementById("nav-queue").classList.toggle("active", view !== "overview");
    if (view === "account") renderAccount(Number(m[1]));
    if (view === "queue") renderQueue();
    window.scrollTo(0, 0);
  }
  document.getElementById("q-body").addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr"); if (tr && tr.dataset.n !== undefined) window.location.hash = "#account/" + tr.dataset.n;
  });
  ["f-cat", "f-band"].forEach(function (id) { document.getElementById(id).addEventListener("change", applyFilters); });
  document.getElementById("f-q").addEventListener("input", applyFilters);
  document.getElementById("p-prev").addEventListener("click", function () { page--; renderQueue(); });
  document.getElementById("p-next").addEventListener("click", function () { page++; renderQueue(); });
  document.getElementById("export").addEventListener("click", exportDecisions);
  window.addEventListener("hashchange", route);
  applyFilters();
  updateDecided();
  route();
  document.documentElement.dataset.ready = "1";
})();
