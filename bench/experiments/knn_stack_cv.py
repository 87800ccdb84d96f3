#!/usr/bin/env python3
"""Stacked kNN vs plain kNN, 3 folds of a training split (standard library only).

The experiment behind docs/routing.md "What was tried on 2026-11-28" (stacked kNN).
Not part of the product. Usage:

    python3 bench/experiments/knn_stack_cv.py \
        /work/shared/routing-data/routerbench-subset-routerdc/compact_train.jsonl

Folds: the split shuffled with random.Random(1), row i of the shuffle in fold i mod 3; fit on
two folds, score the third. Features: exact TF-IDF (no hashing) of word uni+bigrams of the
whole prompt, word uni+bigrams of its last 512 characters, character 4-grams of its last 256
characters, each block L2-normalised, summed, L2-normalised (the C++ featurizer without
hashing, dense features or the low-rank approximation). IDF is fitted once on the whole
split's prompts (text only, no labels). Each row's 300 nearest rows by cosine are cached in
CACHE (~11 min of one core for 2,225 rows); folds filter those lists.

Plain kNN: similarity-weighted mean label of the k nearest fit rows, per model.
Stacked kNN: per model, an L2-regularised logistic regression (Newton) over features derived
from the k nearest fit rows, fitted on the fit rows with their neighbours found among the
*other* fit rows (leave-one-out), so it can learn negative weights (e.g. twin questions):
  base:  weighted mean label (k), weighted mean of the top 5, top-1 label (centred), top-1
         similarity s1, label x s1, label x (s1 - s2), mean over models of the k-mean, mean
         over models of the top-1 labels, that x s1, mean neighbour similarity
  full:  base + the k-means of all models
  twin:  base + local top-1 agreement A (mean over the 10 nearest of the product of a
         neighbour's and its own nearest fit row's centred labels, with the scored row left
         out), label x A, label x s1 x A, and logit(k-mean) unpenalised
  bins:  base + top-1 label and top-1 all-model mean, each split into 5 bins of s1
         (edges 0.4, 0.55, 0.7, 0.85), and logit(k-mean) unpenalised
  offset: base + logit(k-mean) unpenalised
Routing: per row argmax of predicted quality - lambda x predicted cost over eval's lambda grid
(0 and 10^(e/12), e = -12..84); predicted cost = per-model fixed + per-character rate fitted by
least squares on the fit rows (clamped non-negative, as the trainer does); the choice is charged
the row's true cost; a null label scores 0. "Best <= $B" = best accuracy on the curve within
B x rows / 953. Also prints per-model log-loss and within-task AUC (task names used only for
this diagnostic), and the near-duplicate ("twin") label agreement per task.
"""
import json, math, os, pickle, random, re, sys, time
from collections import Counter, defaultdict

DATA = sys.argv[1] if len(sys.argv) > 1 else \
    '/work/shared/routing-data/routerbench-subset-routerdc/compact_train.jsonl'
CACHE = os.environ.get('CACHE', '/tmp/knn_stack_nbrs.pkl')
K = 100
REGS = (1.0, 30.0, 300.0)
VARIANTS = ('base', 'full', 'offset', 'twin', 'bins')
TOP = 300

rows = [json.loads(l) for l in open(DATA)]
N = len(rows)
MODELS = sorted(rows[0]['quality'])
M = len(MODELS)
Y = [[(None if r['quality'].get(m) is None else float(r['quality'][m])) for m in MODELS]
     for r in rows]
C = [[r['cost_usd'][m] for m in MODELS] for r in rows]
def text(p): return p if isinstance(p, str) else '\n'.join(p)
L = [len(text(r['prompt'])) for r in rows]

WORD = re.compile(r'[a-z0-9_\x80-\U0010ffff]+')
def grams(words, tag):
    out = Counter()
    for w in words: out[(tag, w)] += 1
    for a, b in zip(words, words[1:]): out[(tag, a, b)] += 1
    return out
def blocks(p):
    t = re.sub(r'[ \t\n\r\f\v]+', ' ', text(p).lower())
    tail, ct = t[-512:], t[-256:]
    return [grams(WORD.findall(t), 'w'), grams(WORD.findall(tail), 't'),
            Counter(('c', ct[i:i + 4]) for i in range(len(ct) - 3))]

def neighbour_lists():
    if os.path.exists(CACHE):
        return pickle.load(open(CACHE, 'rb'))
    B = [blocks(r['prompt']) for r in rows]
    df = Counter(f for bl in B for b in bl for f in b)
    idf = {f: math.log((1 + N) / (1 + d)) + 1 for f, d in df.items()}
    fid, post, ivecs = {}, defaultdict(list), []
    for r, bl in enumerate(B):
        v = {}
        for b in bl:
            tmp = {f: (1 + math.log(c)) * idf[f] for f, c in b.items()}
            n = math.sqrt(sum(x * x for x in tmp.values())) or 1.0
            for f, x in tmp.items(): v[f] = v.get(f, 0.0) + x / n
        n = math.sqrt(sum(x * x for x in v.values())) or 1.0
        iv = []
        for f, x in v.items():
            i = fid.setdefault(f, len(fid))
            post[i].append((r, x / n)); iv.append((i, x / n))
        ivecs.append(iv)
    nbrs = []
    for r in range(N):
        sim = [0.0] * N
        for i, x in ivecs[r]:
            for rr, y in post[i]: sim[rr] += x * y
        sim[r] = -1e9
        order = sorted(range(N), key=lambda j: (-sim[j], j))[:TOP]
        nbrs.append([(j, sim[j]) for j in order])
    pickle.dump(nbrs, open(CACHE, 'wb'))
    return nbrs

nbrs = neighbour_lists()
perm = list(range(N)); random.Random(1).shuffle(perm)
fold = [0] * N
for pos, i in enumerate(perm): fold[i] = pos % 3
LAMBDAS = [0.0] + [10 ** (e / 12) for e in range(-12, 85)]

def cost_model(fit):
    out = []
    for j in range(M):
        xs = [L[i] for i in fit]; ys = [C[i][j] for i in fit]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs); sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        b = sxy / sxx if sxx > 0 else 0.0
        a = my - b * mx
        if b < 0: b, a = 0.0, my
        if a < 0: a, b = 0.0, sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)
        out.append((a, b))
    return out

def evaluate(pred, test, cm, budgets=(0.35, 2.40)):
    n, pts = len(test), []
    pc = [[cm[j][0] + cm[j][1] * L[i] for j in range(M)] for i in test]
    for lam in LAMBDAS:
        acc = cost = 0.0
        for t, i in enumerate(test):
            q, c = pred[t], pc[t]
            bj = max(range(M), key=lambda j: (q[j] - lam * c[j], -c[j]))
            acc += Y[i][bj] or 0.0; cost += C[i][bj]
        pts.append((acc / n, cost))
    return {b: max([a for a, c in pts if c <= b * n / 953 + 1e-12] or [0.0]) for b in budgets}

def auc(p, y):
    pos = [a for a, b in zip(p, y) if b > 0.5]; neg = [a for a, b in zip(p, y) if b <= 0.5]
    if not pos or not neg: return None
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg) / (len(pos) * len(neg))

DIAG = {}
def diag(key, pred, test):
    ll = n = 0
    for t, i in enumerate(test):
        for m in range(M):
            if Y[i][m] is None: continue
            p = min(max(pred[t][m], 1e-3), 1 - 1e-3); y = Y[i][m]
            ll -= y * math.log(p) + (1 - y) * math.log(1 - p); n += 1
    d = DIAG.setdefault(key, {'ll': [], 'auc': defaultdict(list)})
    d['ll'].append(ll / n)
    for task in sorted({r.get('eval_name', '') for r in rows}):
        for m in range(M):
            ts = [t for t, i in enumerate(test) if rows[i].get('eval_name', '') == task and Y[i][m] is not None]
            a = auc([pred[t][m] for t in ts], [Y[test[t]][m] for t in ts])
            if a is not None: d['auc'][(task, m)].append(a)

def neigh(i, fitset, k, excl=None):
    out = []
    for j, s in nbrs[i]:
        if j in fitset and j != excl:
            out.append((j, s))
            if len(out) == k: break
    return out

def wmean(ns, prior):
    q = []
    for m in range(M):
        num = den = 0.0
        for j, s in ns:
            if Y[j][m] is None: continue
            w = max(0.0, s); num += w * Y[j][m]; den += w
        q.append(num / den if den > 0 else prior[m])
    return q

TOP2 = {}
def agree(r, excl, m):
    for j, _ in TOP2[r]:
        if j != excl:
            a, b = Y[r][m], Y[j][m]
            return 0.0 if a is None or b is None else 4 * (a - 0.5) * (b - 0.5)
    return 0.0

def features(i, fitset, prior, variant):
    ns = neigh(i, fitset, K, excl=i)
    q, q5 = wmean(ns, prior), wmean(ns[:5], prior)
    j1, s1 = ns[0]; s2 = ns[1][1]
    y1 = [(0.5 if Y[j1][m] is None else Y[j1][m]) - 0.5 for m in range(M)]
    qall, y1all = sum(q) / M, sum(y1) / M
    msim = sum(s for _, s in ns) / len(ns)
    per = []
    for m in range(M):
        f = [q[m], q5[m], y1[m], s1, y1[m] * s1, y1[m] * (s1 - s2), qall, y1all, y1all * s1, msim]
        if variant == 'full': f += q
        if variant == 'bins':
            b = sum(1 for e in (0.4, 0.55, 0.7, 0.85) if s1 >= e)
            f += [y1[m] if b == bb else 0.0 for bb in range(5)]
            f += [y1all if b == bb else 0.0 for bb in range(5)]
        if variant == 'twin':
            A = sum(agree(j, i, m) for j, _ in ns[:10]) / 10
            f += [A, y1[m] * A, y1[m] * s1 * A]
        if variant in ('offset', 'twin', 'bins'):
            qq = min(max(q[m], 0.02), 0.98); f.append(math.log(qq / (1 - qq)))
        per.append(f)
    return per

def fit_logistic(X, y, reg, free_last):
    """Newton / IRLS; X standardised with a trailing bias column; L2 on all but the bias (and the
    last feature when free_last)."""
    d = len(X[0]); w = [0.0] * d
    for _ in range(25):
        H = [[0.0] * d for _ in range(d)]; g = [0.0] * d
        for x, t in zip(X, y):
            z = max(-30, min(30, sum(a * b for a, b in zip(w, x))))
            p = 1 / (1 + math.exp(-z)); r = p - t; v = p * (1 - p)
            for a in range(d):
                g[a] += r * x[a]
                if x[a] == 0: continue
                va, Ha = v * x[a], H[a]
                for b in range(a, d): Ha[b] += va * x[b]
        for a in range(d):
            for b in range(a): H[a][b] = H[b][a]
        for a in range(d - 1 - (1 if free_last else 0)):
            H[a][a] += reg; g[a] += reg * w[a]
        H[d - 1][d - 1] += 1e-6
        A = [H[a][:] + [g[a]] for a in range(d)]
        for c in range(d):
            p = max(range(c, d), key=lambda r_: abs(A[r_][c])); A[c], A[p] = A[p], A[c]
            for r_ in range(c + 1, d):
                f = A[r_][c] / A[c][c]
                if f:
                    for cc in range(c, d + 1): A[r_][cc] -= f * A[c][cc]
        step = [0.0] * d
        for c in range(d - 1, -1, -1):
            step[c] = (A[c][d] - sum(A[c][cc] * step[cc] for cc in range(c + 1, d))) / A[c][c]
        w = [a - b for a, b in zip(w, step)]
        if max(abs(s) for s in step) < 1e-6: break
    return w

res = {}
for f in range(3):
    fit = [i for i in range(N) if fold[i] != f]; test = [i for i in range(N) if fold[i] == f]
    fitset = set(fit); cm = cost_model(fit)
    prior = []
    for m in range(M):
        v = [Y[i][m] for i in fit if Y[i][m] is not None]; prior.append(sum(v) / len(v))
    TOP2.clear()
    for r in fit: TOP2[r] = neigh(r, fitset, 2, excl=r)
    for k in (25, 50, 100):
        pred = [wmean(neigh(i, fitset, k), prior) for i in test]
        res.setdefault(('plain', k), []).append(evaluate(pred, test, cm)); diag(('plain', k), pred, test)
    for variant in VARIANTS:
        free = variant in ('offset', 'twin', 'bins')
        Ftr = [features(i, fitset, prior, variant) for i in fit]   # neighbours exclude the row
        Fte = [features(i, fitset, prior, variant) for i in test]
        for reg in REGS:
            pred = [[0.0] * M for _ in test]
            for m in range(M):
                idx = [t for t, i in enumerate(fit) if Y[i][m] is not None]
                X = [Ftr[t][m] for t in idx]; y = [Y[fit[t]][m] for t in idx]
                d = len(X[0])
                mu = [sum(x[a] for x in X) / len(X) for a in range(d)]
                sd = [math.sqrt(sum((x[a] - mu[a]) ** 2 for x in X) / len(X)) or 1.0 for a in range(d)]
                w = fit_logistic([[(x[a] - mu[a]) / sd[a] for a in range(d)] + [1.0] for x in X], y, reg, free)
                for t in range(len(test)):
                    x = [(Fte[t][m][a] - mu[a]) / sd[a] for a in range(d)] + [1.0]
                    z = max(-30, min(30, sum(a * b for a, b in zip(w, x))))
                    pred[t][m] = 1 / (1 + math.exp(-z))
            key = ('stack', variant, K, reg)
            res.setdefault(key, []).append(evaluate(pred, test, cm)); diag(key, pred, test)
    print('fold', f, 'done', file=sys.stderr)

for key, lst in res.items():
    a = [r[0.35] for r in lst]; b = [r[2.40] for r in lst]
    print(key, '$0.35:', ' '.join('%.3f' % x for x in a), 'mean %.4f' % (sum(a) / 3),
          '| $2.40:', ' '.join('%.3f' % x for x in b), 'mean %.4f' % (sum(b) / 3))
for key, d in DIAG.items():
    aucs = {task: [sum(v) / len(v) for (t, m), v in d['auc'].items() if t == task]
            for task in sorted({t for t, _ in d['auc']})}
    print(key, 'log-loss %.4f' % (sum(d['ll']) / 3), ' '.join(
        '%s AUC %.3f' % (t, sum(v) / len(v)) for t, v in aucs.items()))

# Near-duplicates ("twins") on the whole split: for rows whose nearest row has s1 >= 0.7,
# P(correct | nearest correct) - P(correct | nearest wrong), per task and model.
for task in sorted({r.get('eval_name', '') for r in rows}):
    sel = [i for i, r in enumerate(rows) if r.get('eval_name', '') == task and nbrs[i][0][1] >= 0.7]
    total = sum(1 for r in rows if r.get('eval_name', '') == task)
    out = []
    for m in range(M):
        c = {0.0: [0, 0], 1.0: [0, 0]}
        for i in sel:
            a, b = Y[i][m], Y[nbrs[i][0][0]][m]
            if a is None or b is None or b not in c: continue
            c[b][0] += a; c[b][1] += 1
        if c[0.0][1] and c[1.0][1]:
            out.append('%s %+.2f' % (MODELS[m].split('/')[-1], c[1.0][0] / c[1.0][1] - c[0.0][0] / c[0.0][1]))
    print('%s: %d of %d rows with s1 >= 0.7;' % (task, len(sel), total), ', '.join(out))
