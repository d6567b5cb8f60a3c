// Agent sidebar: type or paste the customer's message, pick a suggestion, copy it.
// All KB text is put in the page with textContent; article HTML is sanitized by the server.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const question = $("question"), results = $("results"), noAnswer = $("no-answer"), status = $("status");
  const state = window.kbsSidebar = { result: null, selected: -1, copied: [], feedback: [] };
  const URGENCY = { high: "紧急", normal: "一般", low: "不急" };
  const EMOTION = { angry: "生气", anxious: "着急/担心", neutral: "平静", positive: "满意" };
  const REASON = { refund: "退款", quality: "质量问题", complaint: "投诉/差评", deadline: "有时限", safety: "安全",
                   escalation: "情绪升级", request: "客户要求人工", risk: "健康/法律风险", rounds: "多轮未解决" };
  let timer = null, seq = 0;

  async function api(path, body) {
    const response = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
    return data;
  }

  async function loadFacets() {
    try {
      const facets = await api("/v1/facets");
      for (const [id, items] of [["product", facets.products], ["category", facets.categories]]) {
        for (const item of items) $(id).append(new Option(item, item));
      }
    } catch (err) { status.textContent = "索引未就绪：" + err.message; }
  }

  async function search() {
    const text = question.value.trim();
    const mine = ++seq;
    if (!text) { render(null); return; }
    const body = { question: text, top_k: 5 };
    const turns = conversationTurns();
    if (turns.length) body.conversation = turns;
    if ($("product").value) body.product = $("product").value;
    if ($("category").value) body.filters = { category: $("category").value };
    try {
      const result = await api("/v1/suggest", body);
      if (mine === seq) render(result);  // a slower, older answer never overwrites a newer one
    } catch (err) {
      if (mine === seq) { status.textContent = err.message; render(null); }
    }
  }

  // Conversation mode: one turn a line; lines starting with 客服/坐席/agent are the agent's, the rest the customer's.
  function conversationTurns() {
    if (!$("conversation-mode").checked) return [];
    return $("conversation").value.split("\n").map((line) => line.trim()).filter(Boolean).slice(-20).map((line) => {
      const agent = /^(客服|坐席|商家|agent)\s*[:：]/i.test(line);
      return { role: agent ? "agent" : "customer", text: line.replace(/^(客服|坐席|商家|agent|客户|买家|顾客|customer)\s*[:：]\s*/i, "").slice(0, 1000) };
    });
  }

  function evidenceText(part) {
    return (part.evidence || []).map((e) => (e.signal === "example" ? "相似：" : e.signal === "article" ? "文章：" : "")
      + e.text).join("、");
  }

  function renderTriage(result) {
    const t = result && result.triage;
    $("triage").hidden = !t;
    if (!t) return;
    const chips = $("chips");
    chips.replaceChildren();
    const chip = (className, text, title) => { const c = el("span", "chip " + className, text); c.title = title; chips.append(c); };
    chip("intent", t.intent.label, "依据：" + evidenceText(t.intent));
    const reasons = t.urgency.reasons.map((r) => REASON[r] || r).join("、");
    chip("urgency urgency-" + t.urgency.label, URGENCY[t.urgency.label] + (reasons ? "：" + reasons : ""),
         "依据：" + evidenceText(t.urgency));
    chip("emotion emotion-" + t.emotion.label,
         EMOTION[t.emotion.label] + (t.emotion.intensity ? " " + Math.round(t.emotion.intensity * 100) + "%" : ""),
         "依据：" + evidenceText(t.emotion));
    if (t.context.carried.length) chip("context", "已结合上文", "检索：" + t.context.search_text);
    $("handoff").hidden = !t.handoff.needed;
    $("handoff").textContent = t.handoff.needed
      ? `建议转人工：${REASON[t.handoff.reason] || t.handoff.reason}（${evidenceText(t.handoff)}）` : "";
    $("comfort").hidden = !result.comfort;
    $("comfort-text").textContent = result.comfort ? result.comfort.text : "";
    $("copy-comfort").classList.remove("done");
    $("copy-comfort").textContent = "复制安抚语";
  }

  async function writeClipboard(text) {
    state.copied.push(text);
    try { await navigator.clipboard.writeText(text); } catch (err) { /* headless or no permission: kept in state */ }
  }

  function highlighted(text, spans) {
    const fragment = document.createDocumentFragment();
    let at = 0;
    for (const [start, end] of spans) {
      if (start < at) continue;
      fragment.append(text.slice(at, start));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(start, end);
      fragment.append(mark);
      at = end;
    }
    fragment.append(text.slice(at));
    return fragment;
  }

  // why the answer is not confident (unconfident_reason), as the card's dot says it
  const UNCONFIDENT = {no_words: "消息里没有文字，无从匹配", greeting: "只是问候，先问顾客需要什么",
    ended_first: "最匹配的是已结束的活动", out_of_scope: "本店不处理的问题", below_threshold: "把握不足"};

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(s, index, result) {
    const li = el("li", "card");
    li.dataset.articleId = s.article_id;
    const head = el("div", "head");
    const conf = el("span", "conf " + (result.confident && index === 0 ? "high" : result.confident ? "mid" : ""));
    conf.title = result.confident ? "有把握" : (UNCONFIDENT[result.unconfident_reason] || "把握不足");
    head.append(conf, el("span", "title", s.title), el("span", "badge", s.category));
    if (s.expired) head.append(el("span", "badge expired", "已过期"));
    const snippet = el("p", "snippet");
    snippet.append(highlighted(s.snippet, s.highlights));
    const notice = s.notice ? el("p", "notice", "⚠ " + s.notice + "，请勿按当前规则答复") : null;
    const details = el("details");
    details.append(el("summary", "section", "§ " + s.section), s.answer);
    const actions = el("div", "actions");
    const copy = el("button", "copy", s.reply_template ? "复制回复模板" : "复制答案");
    copy.type = "button";
    copy.addEventListener("click", () => copyCard(index));
    const up = el("button", "up", "👍"), down = el("button", "down", "👎");
    for (const [button, action] of [[up, "up"], [down, "down"]]) {
      button.type = "button";
      button.addEventListener("click", () => { send(action, s.article_id); button.classList.add("done"); });
    }
    const link = el("a", "", "查看全文");
    link.href = "#";
    link.addEventListener("click", (event) => { event.preventDefault(); openArticle(s.article_id); });
    actions.append(copy);
    if (result.comfort) {
      const both = el("button", "copy-both", "安抚 + 答案");
      both.type = "button";
      both.title = "先发安抚语，再发答案";
      both.addEventListener("click", () => copyCard(index, true));
      actions.append(both);
    }
    actions.append(up, down, link);
    li.append(...[head, notice, snippet, details, actions].filter(Boolean));
    li.addEventListener("click", (event) => { if (event.target === li) select(index); });
    return li;
  }

  function render(result) {
    state.result = result;
    state.selected = -1;
    results.replaceChildren();
    noAnswer.hidden = true;
    $("gap-done").hidden = true;
    $("gap").disabled = false;
    renderTriage(result);
    if (!result) { status.textContent = ""; return; }
    status.textContent = `${result.took_ms.toFixed(0)} ms`;
    if (!result.confident) noAnswer.hidden = false;
    const scope = $("out-of-scope"), outside = result.out_of_scope;
    scope.hidden = !outside;
    scope.textContent = outside ? `本店不处理的问题：${outside.topic}（像「${outside.example}」）` : "";
    result.suggestions.forEach((s, i) => results.append(card(s, i, result)));
  }

  function select(index) {
    const cards = results.children;
    if (!cards.length) return;
    state.selected = Math.max(0, Math.min(cards.length - 1, index));
    [...cards].forEach((c, i) => c.classList.toggle("selected", i === state.selected));
    cards[state.selected].scrollIntoView({ block: "nearest" });
  }

  async function copyCard(index, withComfort = false) {
    const s = state.result && state.result.suggestions[index];
    if (!s) return;
    const answer = s.reply_template || s.answer;
    const comfort = withComfort && state.result.comfort ? state.result.comfort.text : "";
    await writeClipboard(comfort ? comfort + "\n" + answer : answer);
    const button = results.children[index].querySelector(withComfort ? ".copy-both" : ".copy");
    button.classList.add("done");
    button.textContent = "已复制";
    send("copy", s.article_id);
  }

  // feedback names the answer it is about (request_id): the server stores that answer's question
  function send(action, articleId) {
    if (!state.result) return Promise.resolve();
    const event = { request_id: state.result.request_id, action, article_id: articleId || null };
    state.feedback.push(event);
    return api("/v1/feedback", event).catch((err) => { status.textContent = "反馈未保存：" + err.message; });
  }

  async function openArticle(id) {
    const article = await api("/v1/articles/" + encodeURIComponent(id));
    $("article-title").textContent = article.title;
    $("article-body").innerHTML = article.html;  // sanitized server-side (nh3)
    $("article").showModal();
  }

  question.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 250); });
  question.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!results.children.length) return;
      event.preventDefault();
      select(state.selected + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (state.selected >= 0) copyCard(state.selected);
      else { clearTimeout(timer); search(); }
    }
  });
  for (const id of ["product", "category"]) $(id).addEventListener("change", search);
  $("conversation-mode").addEventListener("change", () => {
    $("conversation-box").hidden = !$("conversation-mode").checked;
    search();
  });
  $("conversation").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 250); });
  $("copy-comfort").addEventListener("click", async () => {
    if (!state.result || !state.result.comfort) return;
    await writeClipboard(state.result.comfort.text);
    $("copy-comfort").classList.add("done");
    $("copy-comfort").textContent = "已复制";
  });
  $("gap").addEventListener("click", async () => {
    $("gap").disabled = true;
    await send("gap", null);
    $("gap-done").hidden = false;
  });
  loadFacets();
})();
