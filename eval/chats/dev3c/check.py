"""Validate eval/chats/dev3c/sessions.jsonl against the dev3c KB and print statistics.
Run from anywhere: python eval/chats/dev3c/check.py"""
import json, os, re, sys, glob
from collections import Counter
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
KB = os.path.join(ROOT, 'eval', 'shops', 'dev3c', 'kb')
PATH = os.path.join(HERE, 'sessions.jsonl')

LOGISTICS = {'物流'}
RETURNS = {'退换货'}

def load_kb():
    arts = {}
    for p in glob.glob(os.path.join(KB, '**', '*.md'), recursive=True):
        name = os.path.basename(p)
        if name.startswith(('.', '_')) or name == 'README.md':
            continue
        rel = os.path.relpath(p, KB)
        if any(part.startswith(('.', '_')) for part in rel.split(os.sep)):
            continue
        txt = open(p, encoding='utf-8').read()
        m = re.search(r'^id:\s*(\S+)', txt, re.M)
        aid = m.group(1) if m else rel[:-3]
        cat = re.search(r'^category:\s*(\S+)', txt, re.M)
        cat = cat.group(1) if cat else rel.split(os.sep)[0]
        body = txt.split('---', 2)[2] if txt.startswith('---') else txt
        heads = [h.strip() for h in re.findall(r'^#{2,3}\s+(.+?)\s*$', body, re.M)]
        arts[aid] = {'cat': cat, 'heads': heads}
    return arts

def main():
    arts = load_kb()
    errors = []
    def err(msg):
        errors.append(msg)
    sessions = []
    with open(PATH, encoding='utf-8') as fh:
        for n, line in enumerate(fh, 1):
            try:
                s = json.loads(line)
            except Exception as e:
                err(f'line {n}: does not parse: {e}'); continue
            sessions.append((n, s))
    ids = Counter(s.get('session') for _, s in sessions)
    for k, v in ids.items():
        if v > 1: err(f'duplicate session id {k}')
    prev_first = None
    iso = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$')
    cust_turns = questions = oos = 0
    cat_count = Counter(); art_count = Counter(); months = Counter()
    kinds = Counter(); n_turns = 0; flags = Counter(); agents = Counter()
    for n, s in sessions:
        where = f"line {n} ({s.get('session')})"
        for key in ('session', 'customer', 'agent', 'order_id', 'turns'):
            if key not in s: err(f'{where}: missing {key}')
        turns = s.get('turns') or []
        if not turns: err(f'{where}: no turns'); continue
        if s.get('order_id') is not None and not re.fullmatch(r'\d{19}', str(s['order_id'])):
            err(f'{where}: order_id not 19 digits')
        for f in ('transferred', 'complaint'):
            if f in s:
                if s[f] is not True: err(f'{where}: {f} must be true')
                flags[f] += 1
        if 'resolved' in s:
            if s['resolved'] is not False: err(f'{where}: resolved must be false')
            flags['unresolved'] += 1
        agents[s.get('agent')] += 1
        last = None
        for i, t in enumerate(turns):
            w = f'{where} turn {i}'
            n_turns += 1
            if t.get('role') not in ('customer', 'agent'): err(f'{w}: bad role'); continue
            if not isinstance(t.get('text'), str) or not t['text'].strip(): err(f'{w}: empty text')
            at = t.get('at', '')
            if not iso.match(at): err(f'{w}: bad time {at}'); continue
            dt = datetime.fromisoformat(at)
            if last and dt <= last: err(f'{w}: time does not increase')
            last = dt
            if t['role'] == 'customer':
                if 'asks' not in t: err(f'{w}: customer turn without asks'); continue
                cust_turns += 1
                a = t['asks']
                if a is None: continue
                if not isinstance(a, list): err(f'{w}: asks not list/null'); continue
                questions += 1
                if not a: oos += 1
                for x in a:
                    if x not in arts: err(f'{w}: unknown article {x}')
                    else: art_count[x] += 1
                cs = {arts[x]['cat'] for x in a if x in arts}
                for c in cs: cat_count[c] += 1 / len(cs)
            else:
                k = t.get('kind')
                kinds[k] += 1
                if k not in ('answer', 'answer_no_kb', 'greeting', 'holding', 'ask_info', 'signoff', 'other'):
                    err(f'{w}: bad kind {k}'); continue
                if k in ('answer', 'answer_no_kb'):
                    ans = t.get('answers')
                    if not isinstance(ans, list): err(f'{w}: answers missing'); continue
                    if k == 'answer' and not ans: err(f'{w}: answer without answers')
                    for j in ans:
                        if not isinstance(j, int) or j < 0 or j >= i or turns[j]['role'] != 'customer' or turns[j].get('asks') is None:
                            err(f'{w}: answers index {j} is not an earlier question turn')
                    if k == 'answer':
                        rs = t.get('restates')
                        if not rs: err(f'{w}: answer without restates'); continue
                        for r in rs:
                            aid, _, sec = r.partition('#')
                            if aid not in arts: err(f'{w}: restates unknown article {aid}')
                            elif sec not in arts[aid]['heads'] or sec == '回复模板':
                                err(f'{w}: restates bad heading {r}')
                    elif 'restates' in t: err(f'{w}: answer_no_kb with restates')
        first = turns[0].get('at')
        if prev_first and first < prev_first: err(f'{where}: sessions not time-ordered')
        prev_first = first
        months[first[:7]] += 1
    for e in errors[:50]: print('ERROR', e)
    print(f'sessions: {len(sessions)}')
    print(f'turns: {n_turns}, customer turns: {cust_turns}, agent turns: {n_turns - cust_turns}')
    print(f'questions (asks not null): {questions}')
    print(f'out-of-KB (asks = []): {oos} = {oos / max(questions,1):.1%}')
    inkb = questions - oos
    print('topic share by KB category (share of all questions; multi-category questions split):')
    for c, v in sorted(cat_count.items(), key=lambda x: -x[1]):
        print(f'  {c}: {v:.0f} = {v / max(questions,1):.1%}')
    print(f'distinct articles asked about: {len(art_count)} of {len(arts)}')
    never = sorted(set(arts) - set(art_count))
    if never: print('  never asked:', ', '.join(never))
    print('top 15 articles by count:')
    for a, v in art_count.most_common(15): print(f'  {a}: {v}')
    top10 = sum(v for _, v in art_count.most_common(10))
    print(f'top 10 articles cover {top10 / max(sum(art_count.values()),1):.1%} of article mentions')
    print('sessions per month:', ', '.join(f'{m}: {v}' for m, v in sorted(months.items())))
    print('agent turn kinds:', dict(kinds.most_common()))
    print('session flags:', dict(flags), ' agents:', dict(sorted(agents.items())))
    print('errors:', len(errors))
    sys.exit(1 if errors else 0)

main()
