// byhand practice page: blanks as inputs, Check / Hint / Reveal against the server. No answers in the page.
(() => {
  'use strict';
  // the page's words in its language (byhand.i18n.JS_WORDS, translated on the server); {name} fills a value in
  const words = (() => { try { return JSON.parse(document.getElementById('byhand-words').textContent); } catch (e) { return {}; } })();
  const t = (s, vars) => (words[s] || s).replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  // the home page: chapter links follow the level picked
  const pick = document.getElementById('level');
  const chapters = document.getElementById('chapters');
  if (pick && chapters) {
    const relink = () => {
      for (const a of chapters.querySelectorAll('a[data-topic]')) a.href = `/practice/${a.dataset.topic}/${pick.value}/new`;
    };
    pick.addEventListener('change', relink);
    relink();
  }
})();

(() => {
  'use strict';
  // the page's words in its language (byhand.i18n.JS_WORDS, translated on the server); {name} fills a value in
  const words = (() => { try { return JSON.parse(document.getElementById('byhand-words').textContent); } catch (e) { return {}; } })();
  const t = (s, vars) => (words[s] || s).replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  const root = document.getElementById('exercise');
  if (!root) return;
  const api = root.dataset.api;
  const mode = root.dataset.mode;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const inputs = [...root.querySelectorAll('input.blank')];
  const status = document.getElementById('status');
  const stepBox = document.getElementById('step');
  const stepText = document.getElementById('step-text');
  const stepCount = document.getElementById('step-count');
  const cells = [...root.querySelectorAll('td[data-cell]')];
  let last = inputs[0] || null;
  let lastVerdicts = {};

  const tdsOfBadge = b => root.querySelectorAll(`td[data-badge="${b}"]`);
  const say = (text, kind) => { status.textContent = text; status.className = kind || ''; };

  async function post(path, body) {
    let r;
    try {
      r = await fetch(api + path, {
        method: 'POST', credentials: 'same-origin',
        headers: {'content-type': 'application/json', 'x-csrf-token': csrf},
        body: JSON.stringify(body || {}),
      });
    } catch (e) {
      say(t('The server cannot be reached. Your answers are still in the boxes; try again.'), 'bad');
      return null;
    }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      say((data && data.error) || t('The server said {status}.', {status: r.status}), 'bad');
      return null;
    }
    return data;
  }

  function clearMarks(b) {
    for (const td of tdsOfBadge(b)) td.classList.remove('ok', 'bad', 'nan', 'follows');
  }

  // a box grows with what is typed: "243/280" is never cut to "43/280"
  const fit = inp => { inp.style.width = `${Math.max(4, inp.value.length + 1.5)}ch`; };
  inputs.forEach((inp, i) => {
    inp.addEventListener('input', () => {
      for (const o of inputs) if (o.dataset.badge === inp.dataset.badge) { if (o !== inp) o.value = inp.value; fit(o); }
      clearMarks(inp.dataset.badge);
    });
    inp.addEventListener('focus', () => { last = inp; });
    inp.addEventListener('keydown', e => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      const next = inputs.slice(i + 1).find(o => o.dataset.badge !== inp.dataset.badge && !o.disabled);
      if (next) next.focus(); else check();
    });
  });

  function answers() {
    const a = {};
    for (const inp of inputs) {
      const v = inp.value.trim();
      if (v && !(inp.dataset.badge in a)) a[inp.dataset.badge] = v;
    }
    return a;
  }

  const MARK = {correct: 'ok', wrong: 'bad', 'not a number': 'nan', follows: 'follows'};
  function mark(verdicts) {
    lastVerdicts = verdicts;
    for (const [b, v] of Object.entries(verdicts)) {
      clearMarks(b);
      const verdict = typeof v === 'string' ? v : v.verdict;
      const cls = MARK[verdict];
      if (cls) for (const td of tdsOfBadge(b)) {
        td.classList.add(cls);
        if (verdict === 'follows') td.title = 'follows from your answer: right from the value you wrote before';
      }
    }
  }

  async function check() {
    const r = await post('/check', {answers: answers()});
    if (!r) return;
    mark(r.badges);
    const nan = Object.values(r.badges).filter(v => v.verdict === 'not a number').length;
    let msg = t('{correct} of {total} right.', {correct: r.correct, total: r.total});
    if (r.follows) msg += ' ' + t(r.follows > 1 ? '{n} more follow from your own earlier answers (→): the method is right.'
      : '{n} more follows from your own earlier answer (→): the method is right.', {n: r.follows});
    if (r.correct === r.total) msg = t('All {total} right!', {total: r.total}) + (mode === 'practice' ? ' ' + t('Try a new variant.') : '');
    if (nan) msg += ' ' + t(nan > 1 ? '{n} answers are not a number (write −5, 3/4 or 0.75).' : '{n} answer is not a number (write −5, 3/4 or 0.75).', {n: nan});
    if (r.saved) msg += ' Saved.' + (r.late ? ' (after the due date)' : '');
    say(msg, r.correct === r.total ? 'ok' : '');
    root.dataset.checked = String(r.correct);
  }

  function highlight(now, uses) {
    for (const td of cells) {
      td.classList.toggle('new', now.has(td.dataset.cell));
      td.classList.toggle('uses', uses.has(td.dataset.cell));
    }
  }

  // the hint ladder: 1 where to look, 2 the expression without its result, 3 the step
  const rungs = JSON.parse(root.dataset.hints || '{}');
  const RUNG = ['', t('where to look'), t('the expression'), t('the step')];
  let hintBadge = null;
  const more = document.getElementById('more');
  const isRight = b => { const v = lastVerdicts[b]; return v && (v === 'correct' || v.verdict === 'correct'); };

  async function hint(next) {
    let b = next === true ? hintBadge : (last && !last.disabled ? last.dataset.badge : null);
    if (!b || isRight(b)) {
      const open = inputs.find(o => !isRight(o.dataset.badge));
      b = open ? open.dataset.badge : null;
    }
    if (!b) { say(t('Every blank is right already.'), 'ok'); return; }
    const level = Math.min(3, (rungs[b] || 0) + (next === true || b !== hintBadge || !rungs[b] ? 1 : 0)) || 1;
    const r = await post('/hint', {badge: parseInt(b, 10), level});
    if (!r) return;
    hintBadge = b;
    rungs[b] = Math.max(rungs[b] || 0, r.level);
    stepBox.hidden = false;
    stepBox.dataset.kind = 'hint';
    stepBox.dataset.level = String(r.level);
    stepCount.textContent = t('Hint {level} of {levels} for [{badge}] {name}: {rung}', {level: r.level, levels: r.levels, badge: r.badge, name: r.name, rung: RUNG[r.level]});
    stepText.textContent = r.text;
    more.hidden = r.level >= r.levels;
    highlight(new Set([r.cell]), new Set(r.uses));
    const inp = root.querySelector(`td[data-cell="${r.cell}"] input`);
    if (inp) inp.focus();
  }
  more.addEventListener('click', () => hint(true));

  let sol = null;
  let k = -1;

  function showStep(n) {
    k = Math.max(-1, Math.min(sol.steps.length - 1, n));
    const shown = new Set(sol.steps.slice(0, k + 1).map(s => s.cell));
    const show = Object.fromEntries(sol.steps.map(s => [s.cell, s.show]));
    for (const td of cells) {
      if (!td.dataset.badge) continue;
      const on = shown.has(td.dataset.cell);
      td.classList.toggle('shown', on);
      let span = td.querySelector('span.answer');
      if (on && !span) { span = document.createElement('span'); span.className = 'answer'; td.appendChild(span); }
      if (span) span.innerHTML = on ? show[td.dataset.cell] : '';
      if (on) td.classList.remove('ok', 'bad', 'nan', 'follows');  // the revealed value replaces the old mark
    }
    const s = sol.steps[k];
    stepBox.hidden = false;
    stepBox.dataset.kind = 'reveal';
    more.hidden = true;
    if (k < 0) {
      stepCount.textContent = t('Worked solution: {n} steps', {n: sol.steps.length});
      stepText.textContent = t('Press → to see the first step.');
      highlight(new Set(), new Set());
    } else {
      stepCount.textContent = `[${k + 1}/${sol.steps.length}]`;
      stepText.textContent = `${s.name} = ${s.text}`;
      stepBox.dataset.phase = s.phase;
      highlight(new Set([s.cell]), new Set(s.uses));
    }
  }

  async function reveal() {
    if (mode === 'assignment' && root.dataset.revealed !== 'yes' &&
        !window.confirm(t('After you open the worked solution this exercise takes no more answers. Open it?'))) return;
    if (!sol) {
      sol = await post('/reveal', {});
      if (!sol) return;
    }
    if (mode === 'assignment') lock();
    showStep(0);
  }

  function lock() {
    root.dataset.revealed = 'yes';
    for (const inp of inputs) inp.disabled = true;
    const c = document.getElementById('check');
    if (c) c.disabled = true;
  }

  document.getElementById('check').addEventListener('click', check);
  const h = document.getElementById('hint');
  if (h) h.addEventListener('click', () => hint(false));
  document.getElementById('reveal').addEventListener('click', reveal);
  document.getElementById('next').addEventListener('click', () => sol && showStep(k + 1));
  document.getElementById('prev').addEventListener('click', () => sol && showStep(k - 1));
  document.getElementById('all').addEventListener('click', () => sol && showStep(sol.steps.length - 1));
  document.getElementById('close').addEventListener('click', () => {
    stepBox.hidden = true;
    highlight(new Set(), new Set());
    if (sol && mode === 'practice') showStep(-1), stepBox.hidden = true;
  });
  document.addEventListener('keydown', e => {
    if (stepBox.hidden || stepBox.dataset.kind !== 'reveal' || e.target.tagName === 'INPUT') return;
    if (e.key === 'ArrowRight') showStep(k + 1);
    if (e.key === 'ArrowLeft') showStep(k - 1);
  });

  if (mode === 'assignment') {
    const given = JSON.parse(root.dataset.given || '{}');
    for (const inp of inputs) if (given[inp.dataset.badge] !== undefined) { inp.value = given[inp.dataset.badge]; fit(inp); }
    mark(JSON.parse(root.dataset.verdicts || '{}'));  // a reload keeps the marks of the last saved check
    if (root.dataset.revealed === 'yes' || root.dataset.closed === 'yes') lock();
  }
  if (inputs.length && !inputs[0].disabled && window.matchMedia('(min-width: 700px)').matches) inputs[0].focus();
})();
