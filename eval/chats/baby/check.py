#!/usr/bin/env python3
"""Validate sessions.jsonl against the shop's KB and print statistics."""
import json, os, re, sys, glob
from collections import Counter, defaultdict
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
KB = os.path.join(ROOT, 'eval', 'shops', 'baby', 'kb')
AGENT_KINDS = {'answer', 'answer_no_kb', 'greeting', 'holding', 'ask_info', 'signoff', 'other'}
TS = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$')

def load_kb():
    arts = {}
    for p in glob.glob(os.path.join(KB, '**', '*.md'), recursive=True):
        rel = os.path.relpath(p, KB)
        if any(part.startswith(('.', '_')) for part in rel.split(os.sep)) or os.path.basename(p) == 'README.md':
            continue
        txt = open(p, encoding='utf-8').read()
        fm, body = txt.split('---', 2)[1:]
        m = re.search(r'^id:\s*(\S+)', fm, re.M)
        aid = m.group(1) if m else rel[:-3]
        heads = set(h.strip() for h in re.findall(r'^#{2,3}\s+(.+)$', body, re.M))
        arts[aid] = {'cat': rel.split(os.sep)[0], 'heads': heads - {'回复模板'}}
    return arts

def main():
    arts = load_kb()
    errs = []
    sessions = []
    path = os.path.join(HERE, 'sessions.jsonl')
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        try:
            s = json.loads(line)
        except Exception as e:
            errs.append('line %d: bad json %s' % (n, e)); continue
        sessions.append(s)
        for k in ('session', 'customer', 'agent', 'order_id', 'turns'):
            if k not in s:
                errs.append('%d: missing %s' % (n, k))
        turns = s.get('turns', [])
        if not turns:
            errs.append('%d: no turns' % n)
        prev = None
        for i, t in enumerate(turns):
            w = '%s turn %d' % (s.get('session'), i)
            if t.get('role') not in ('customer', 'agent'):
                errs.append(w + ': bad role')
            if not TS.match(t.get('at', '')):
                errs.append(w + ': bad time'); continue
            at = datetime.fromisoformat(t['at'])
            if prev and at <= prev:
                errs.append(w + ': time not increasing')
            prev = at
            if not isinstance(t.get('text'), str) or not t['text'].strip():
                errs.append(w + ': empty text')
            if t['role'] == 'customer':
                if 'asks' not in t:
                    errs.append(w + ': no asks')
                elif t['asks'] is not None:
                    for a in t['asks']:
                        if a not in arts:
                            errs.append(w + ': unknown article ' + a)
            else:
                k = t.get('kind')
                if k not in AGENT_KINDS:
                    errs.append(w + ': bad kind %s' % k)
                if k in ('answer', 'answer_no_kb'):
                    ans = t.get('answers')
                    if not isinstance(ans, list):
                        errs.append(w + ': no answers')
                    else:
                        for j in ans:
                            if not (0 <= j < i) or turns[j]['role'] != 'customer' or turns[j].get('asks') is None:
                                errs.append(w + ': answers points at non-question %s' % j)
                    if k == 'answer':
                        if not ans:
                            errs.append(w + ': answer with empty answers')
                        rs = t.get('restates')
                        if not rs:
                            errs.append(w + ': answer without restates')
                        for r in rs or []:
                            aid, _, h = r.partition('#')
                            if aid not in arts:
                                errs.append(w + ': restates unknown article ' + r)
                            elif h not in arts[aid]['heads']:
                                errs.append(w + ': restates unknown heading ' + r)
        if s.get('order_id') is not None and not re.fullmatch(r'\d{19}', s['order_id']):
            errs.append('%s: bad order_id' % s.get('session'))
    firsts = [s['turns'][0]['at'] for s in sessions if s.get('turns')]
    if firsts != sorted(firsts):
        errs.append('sessions not time-ordered')
    ids = [s['session'] for s in sessions]
    if len(set(ids)) != len(ids):
        errs.append('duplicate session ids')
    for e in errs[:50]:
        print('ERROR', e)

    cturns = [t for s in sessions for t in s['turns'] if t['role'] == 'customer']
    qs = [t for t in cturns if t.get('asks') is not None]
    oo = [t for t in qs if t['asks'] == []]
    art = Counter(a for t in qs for a in t['asks'])
    cat = Counter()
    for t in qs:
        if t['asks']:
            cats = [arts[a]['cat'] for a in t['asks'] if a in arts]
            for c in set(cats):
                cat[c] += 1 / len(set(cats))
        else:
            cat['(out of KB)'] += 1
    aturns = [t for s in sessions for t in s['turns'] if t['role'] == 'agent']
    print('sessions: %d' % len(sessions))
    print('customer turns: %d   agent turns: %d' % (len(cturns), len(aturns)))
    print('questions (asks not null): %d   multi-article: %d' % (len(qs), sum(1 for t in qs if len(t['asks']) > 1)))
    print('out-of-KB (asks = []): %d = %.1f%%' % (len(oo), 100 * len(oo) / max(1, len(qs))))
    print('topic share by KB category (share of all questions):')
    for c, v in sorted(cat.items(), key=lambda x: -x[1]):
        print('  %-8s %6.1f  %5.1f%%' % (c, v, 100 * v / len(qs)))
    print('distinct articles asked about: %d of %d' % (len(art), len(arts)))
    never = sorted(set(arts) - set(art))
    if never:
        print('  never asked:', ', '.join(never))
    print('top 15 articles:')
    for a, c in art.most_common(15):
        print('  %3d  %s' % (c, a))
    top10 = sum(c for _, c in art.most_common(10))
    print('top-10 articles share of in-KB questions: %.1f%%' % (100 * top10 / max(1, len(qs) - len(oo))))
    print('agent kinds:', dict(Counter(t['kind'] for t in aturns)))
    print('sessions per month:', dict(sorted(Counter(s['turns'][0]['at'][:7] for s in sessions).items())))
    hours = Counter(int(s['turns'][0]['at'][11:13]) for s in sessions)
    off = sum(v for h, v in hours.items() if h < 9 or h >= 22)
    print('sessions starting off-hours (before 9:00 or from 22:00): %d' % off)
    print('flags: transferred %d, complaint %d, unresolved %d, with order_id %d' % (
        sum(1 for s in sessions if s.get('transferred')), sum(1 for s in sessions if s.get('complaint')),
        sum(1 for s in sessions if s.get('resolved') is False), sum(1 for s in sessions if s.get('order_id'))))
    if '-v' in sys.argv:
        for a in sorted(arts):
            print('  %3d  %s' % (art.get(a, 0), a))
    print('OK' if not errs else '%d errors' % len(errs))
    return 1 if errs else 0

if __name__ == '__main__':
    sys.exit(main())
