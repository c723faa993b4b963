#!/usr/bin/python3
"""Plain-PyTorch references for Perturb's attacks, written from the papers' definitions with the
reference implementations' defaults (torchattacks for FGSM/PGD/MI-FGSM/CW, AutoAttack's
autopgd_base.py and square.py for APGD and Square). No torchattacks/autoattack import: the
attacks are written out below.

usage (repository root):  /usr/bin/python3 tests/conformance/attacks/reference.py [N] [fast]
Model: tests/conformance/fmnist_cnn.ts; data: the first N Fashion-MNIST test images (t10k order).
Writes JSON {attack: {"accuracy":..,"seconds":..}} to stdout. `fast` uses the small settings of
tests/conformance/attacks/fast.ptb; a comma list of names (pgd_l2,cw,...) runs only those.
"""
import gzip, json, math, struct, sys, time
import numpy as np
import torch
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_images(path):
    data = gzip.open(path, "rb").read()
    _, n, r, c = struct.unpack(">IIII", data[:16])
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, r, c).astype(np.float32) / 255.0)


def read_labels(path):
    data = gzip.open(path, "rb").read()
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=8).astype(np.int64))


def norms(t, p):
    f = t.reshape(t.shape[0], -1)
    if p == "inf":
        n = f.abs().max(1)[0]
    else:
        n = f.norm(p=p, dim=1)
    return n.view(-1, *([1] * (t.dim() - 1)))


def grad_of(model, x, y, loss="ce"):
    x = x.clone().detach().requires_grad_(True)
    z = model(x)
    l = F.cross_entropy(z, y, reduction="sum") if loss == "ce" else dlr(z, y).sum()
    return torch.autograd.grad(l, x)[0], z.detach()


def dlr(z, y):  # Croce & Hein 2020, eq. (6)
    zs, ind = z.sort(1)
    top_is_y = (ind[:, -1] == y).float()
    u = torch.arange(z.shape[0])
    return -(z[u, y] - zs[:, -2] * top_is_y - zs[:, -1] * (1 - top_is_y)) / (zs[:, -1] - zs[:, -3] + 1e-12)


def proj_linf(xa, x, eps):
    return torch.min(torch.max(xa, x - eps), x + eps).clamp(0, 1)


def proj_l2(xa, x, eps):
    d = xa - x
    return (x + d * torch.clamp(eps / (norms(d, 2) + 1e-12), max=1.0)).clamp(0, 1)


def proj_l1(xa, x, eps, iters=60):
    """Euclidean projection onto {d: |d|_1 <= eps, 0 <= x + d <= 1} (Duchi et al. 2008 with the
    box): d_i = clip(sign(v_i) max(|v_i| - lam, 0), -x_i, 1 - x_i), lam by bisection."""
    v = (xa - x).reshape(x.shape[0], -1)
    xf = x.reshape(x.shape[0], -1)
    lo_b, hi_b = -xf, 1 - xf
    def d_of(lam):
        return torch.max(torch.min(v.sign() * (v.abs() - lam).clamp(min=0), hi_b), lo_b)
    d0 = d_of(torch.zeros(v.shape[0], 1))
    inside = d0.abs().sum(1) <= eps
    lo = torch.zeros(v.shape[0], 1)
    hi = v.abs().max(1, keepdim=True)[0]
    for _ in range(iters):
        mid = (lo + hi) / 2
        over = d_of(mid).abs().sum(1, keepdim=True) > eps
        lo = torch.where(over, mid, lo)
        hi = torch.where(over, hi, mid)
    d = torch.where(inside.unsqueeze(1), d0, d_of(hi))
    return (x + d.view_as(x)).clamp(0, 1)


def fgsm(m, x, y, eps):
    g, _ = grad_of(m, x, y)
    return (x + eps * g.sign()).clamp(0, 1)


def pgd(m, x, y, norm, eps, steps, step, random_start=True):
    xa = x.clone()
    if random_start and norm == "Linf":
        xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    elif random_start and norm == "L2":
        d = torch.randn_like(x)
        d = d / norms(d, 2) * eps * torch.rand(x.shape[0], 1, 1, 1)
        xa = (x + d).clamp(0, 1)
    for _ in range(steps):
        g, _ = grad_of(m, xa, y)
        if norm == "Linf":
            xa = proj_linf(xa + step * g.sign(), x, eps)
        elif norm == "L2":
            xa = proj_l2(xa + step * g / (norms(g, 2) + 1e-12), x, eps)
        else:  # L1: SLIDE's sparse step (Tramer & Boneh 2019): sign on the top 1% |g|
            g = g.clone()
            g[(xa <= 0) & (g < 0)] = 0
            g[(xa >= 1) & (g > 0)] = 0
            f = g.reshape(g.shape[0], -1).abs()
            k = max(1, int(math.floor(0.99 * f.shape[1])))
            thr = f.kthvalue(k, 1, keepdim=True)[0]
            e = (g.sign().reshape(f.shape) * ((f >= thr) & (f > 0))).view_as(g)
            xa = proj_l1(xa + step * e / norms(e, 1).clamp(min=1.0), x, eps)
    return xa.detach()


def mifgsm(m, x, y, eps, steps, decay=1.0):  # Dong et al. 2018, torchattacks' update
    step = eps / steps
    xa, mom = x.clone(), torch.zeros_like(x)
    for _ in range(steps):
        g, _ = grad_of(m, xa, y)
        g = g / g.abs().mean(dim=(1, 2, 3), keepdim=True)
        g = g + decay * mom
        mom = g
        xa = proj_linf(xa + step * g.sign(), x, eps)
    return xa


def cw(m, x, y, eps, c=1.0, kappa=0.0, steps=100, lr=0.01):
    """Carlini & Wagner 2017 L2 (f6, tanh box), torchattacks' loop and early abort; the smallest
    successful x' is kept and projected onto the L2 ball of radius eps."""
    w = torch.atanh((2 * x - 1) * 0.999999).detach().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    best, best_l2, prev = x.clone(), torch.full((x.shape[0],), 1e10), 1e10
    onehot = F.one_hot(y, 10).bool()
    for s in range(steps):
        xa = (torch.tanh(w) + 1) / 2
        l2 = ((xa - x) ** 2).reshape(x.shape[0], -1).sum(1)
        z = m(xa)
        other = z.masked_fill(onehot, -1e9).max(1)[0]
        real = z[onehot]
        cost = l2.sum() + c * torch.clamp(real - other, min=-kappa).sum()
        opt.zero_grad(); cost.backward(); opt.step()
        fooled = z.argmax(1) != y
        better = fooled & (l2.detach() < best_l2)
        best_l2 = torch.where(better, l2.detach(), best_l2)
        best = torch.where(better.view(-1, 1, 1, 1), xa.detach(), best)
        if s % max(steps // 10, 1) == 0:
            if cost.item() > prev:
                break
            prev = cost.item()
    return proj_l2(best, x, eps)


def apgd(m, x, y, eps, steps=100, loss="ce", rho=0.75):
    """APGD (Croce & Hein 2020, Alg. 1) Linf as in autopgd_base.py: step 2 eps, momentum 0.75,
    checkpoints p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06). One run on the correctly
    classified samples."""
    with torch.no_grad():
        keep = m(x).argmax(1) == y
    out = x.clone()
    idx = keep.nonzero().squeeze(1)
    if idx.numel() == 0:
        return out
    lossf = (lambda z, yy: F.cross_entropy(z, yy, reduction="none")) if loss == "ce" else dlr
    acc, best_adv = apgd_run(m, x[idx], y[idx], eps, steps, lossf, rho)
    res = out[idx]
    res[~acc] = best_adv[~acc]
    out[idx] = res
    return out


def apgd_run(m, x, y, eps, steps, lossf, rho=0.75):
    """One APGD run (attack_single_run of autopgd_base.py, Linf) on x, y with the per-sample loss
    lossf(logits, y). Returns (still correct after every iterate, last misclassified iterate)."""
    n2, nmin, sdec = max(int(0.22 * steps), 1), max(int(0.06 * steps), 1), max(int(0.03 * steps), 1)
    t = 2 * torch.rand_like(x) - 1
    xa = (x + eps * t / norms(t, "inf")).clamp(0, 1)
    best, best_adv = xa.clone(), xa.clone()

    def grad_loss(xx):
        xx = xx.clone().detach().requires_grad_(True)
        z = m(xx)
        li = lossf(z, y)
        return torch.autograd.grad(li.sum(), xx)[0], z.detach(), li.detach()

    g, z, li = grad_loss(xa)
    acc = z.argmax(1) == y
    loss_best = li.clone()
    step = 2.0 * eps * torch.ones(x.shape[0], 1, 1, 1)
    x_old = xa.clone()
    k, counter = n2, 0
    loss_steps = torch.zeros(steps, x.shape[0])
    loss_best_last, reduced_last = loss_best.clone(), torch.ones_like(loss_best)
    g_best = g.clone()
    for i in range(steps):
        with torch.no_grad():
            d2 = xa - x_old
            x_old = xa.clone()
            a = 0.75 if i > 0 else 1.0
            x1 = proj_linf(xa + step * g.sign(), x, eps)
            xa = proj_linf(xa + (x1 - xa) * a + d2 * (1 - a), x, eps)
        g, z, li = grad_loss(xa)
        pred = z.argmax(1) == y
        acc = acc & pred
        best_adv[~pred] = xa[~pred]
        loss_steps[i] = li
        imp = li > loss_best
        best[imp], g_best[imp], loss_best[imp] = xa[imp], g[imp], li[imp]
        counter += 1
        if counter == k:
            tcount = torch.zeros(x.shape[0])
            for c5 in range(k):
                tcount += (loss_steps[i - c5] > loss_steps[i - c5 - 1]).float()
            osc = tcount <= k * rho
            no_impr = (reduced_last == 0) & (loss_best_last >= loss_best)
            osc = osc | no_impr
            reduced_last = osc.float()
            loss_best_last = loss_best.clone()
            step[osc] /= 2.0
            xa[osc], g[osc] = best[osc], g_best[osc]
            k = max(k - sdec, nmin)
            counter = 0
    return acc, best_adv


def square(m, x, y, norm, eps, queries, p_init=0.8, rescale=True, iters=None):
    """Square attack (Andriushchenko et al. 2020) as in AutoAttack's square.py (margin loss,
    p schedule rescaled to the budget unless rescale=False, as AutoAttack's cascade runs it with
    resc_schedule=False); the initial point counts as the first query, then `iters` updates
    (default queries - 1; square.py itself loops n_queries times after the initial point)."""
    def margin(xx, yy):
        with torch.no_grad():
            z = m(xx)
        u = torch.arange(len(yy))
        own = z[u, yy].clone()
        z[u, yy] = -float("inf")
        return own - z.max(1)[0]

    def p_sel(it):
        i = int(it / queries * 10000) if rescale else it
        for lim, div in [(10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64), (6000, 128), (8000, 256)]:
            if i <= lim:
                return p_init / div
        return p_init / 512

    def eta_rect(a, b):
        d = torch.zeros(a, b)
        c0, c1 = a // 2, b // 2
        for k in range(max(a // 2 + 1, b // 2 + 1)):
            d[max(c0, 0):min(c0 + 2 * k + 1, a), max(c1, 0):min(c1 + 2 * k + 1, b)] += 1.0 / (k + 1) ** 2
            c0 -= 1; c1 -= 1
        return d / d.pow(2).sum().sqrt()

    def eta(s):
        d = torch.zeros(s, s)
        d[:s // 2] = eta_rect(s // 2, s)
        d[s // 2:] = -eta_rect(s - s // 2, s)
        d = d / d.pow(2).sum().sqrt()
        return d.t() if torch.rand(1).item() > 0.5 else d

    sign = lambda shape: torch.sign(2 * torch.rand(shape) - 1)
    out = x.clone()
    todo = (margin(x, y) > 0).nonzero().squeeze(1)
    xs, ys = x[todo], y[todo]
    n, c, h, w = xs.shape
    feats = c * h * w
    if norm == "Linf":
        best = (xs + eps * sign([n, c, 1, w])).clamp(0, 1)
    else:
        init = torch.zeros_like(xs)
        s0 = h // 5
        st = (h - 5 * s0) // 2
        vh = st
        while vh + s0 <= h:
            vw = st
            while vw + s0 <= w:
                init[:, :, vh:vh + s0, vw:vw + s0] += eta(s0).view(1, 1, s0, s0) * sign([n, c, 1, 1])
                vw += s0
            vh += s0
        best = (xs + init / norms(init, 2) * eps).clamp(0, 1)
    mbest = margin(best, ys)
    for it in range(queries - 1 if iters is None else iters):
        idx = (mbest > 0).nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        xc, bc = xs[idx], best[idx]
        if norm == "Linf":
            s = max(int(round(math.sqrt(p_sel(it) * feats / c))), 1)
            vh, vw = torch.randint(0, h - s, [1]).item(), torch.randint(0, w - s, [1]).item()
            d = torch.zeros(c, h, w)
            d[:, vh:vh + s, vw:vw + s] = 2.0 * eps * sign([c, 1, 1])
            xn = proj_linf(bc + d, xc, eps)
        else:
            delta = bc - xc
            s = max(int(round(math.sqrt(p_sel(it) * feats / c))), 3)
            s = s + 1 if s % 2 == 0 else s
            s = min(s, h, w)
            vh, vw = torch.randint(0, h - s, [1]).item(), torch.randint(0, w - s, [1]).item()
            vh2, vw2 = torch.randint(0, h - s, [1]).item(), torch.randint(0, w - s, [1]).item()
            mask = torch.zeros_like(xc)
            mask[:, :, vh:vh + s, vw:vw + s] = 1
            mask[:, :, vh2:vh2 + s, vw2:vw2 + s] = 1
            nw1 = delta[:, :, vh:vh + s, vw:vw + s].pow(2).sum((-2, -1), keepdim=True).sqrt()
            nimg, nwin = norms(delta, 2), norms(delta * mask, 2)
            nd = eta(s).view(1, 1, s, s) * sign([len(idx), c, 1, 1])
            nd = nd + delta[:, :, vh:vh + s, vw:vw + s] / (1e-12 + nw1)
            nd = nd / (1e-12 + nd.pow(2).sum((-2, -1), keepdim=True).sqrt()) * (
                ((eps ** 2 - nimg ** 2).clamp(min=0) / c + nwin ** 2).sqrt())
            delta[:, :, vh2:vh2 + s, vw2:vw2 + s] = 0
            delta[:, :, vh:vh + s, vw:vw + s] = nd
            xn = (xc + delta / (norms(delta, 2) + 1e-12) * eps).clamp(0, 1)
        mn = margin(xn, ys[idx])
        better = (mn < mbest[idx]) | (mn <= 0)
        mbest[idx] = torch.where(better, mn, mbest[idx])
        best[idx] = torch.where(better.view(-1, 1, 1, 1), xn, bc)
    out[todo] = best
    return out


def settings(fast):
    if fast:
        return {
            "fgsm": lambda m, x, y: fgsm(m, x, y, 0.03),
            "pgd_l1": lambda m, x, y: pgd(m, x, y, "L1", 8.0, 10, 2.0, random_start=False),
            "mifgsm": lambda m, x, y: mifgsm(m, x, y, 0.03, 10),
            "apgd_ce": lambda m, x, y: apgd(m, x, y, 0.03, steps=20),
            "square_linf": lambda m, x, y: square(m, x, y, "Linf", 0.05, 200),
        }
    return {
        "fgsm": lambda m, x, y: fgsm(m, x, y, 0.03),
        "pgd_linf": lambda m, x, y: pgd(m, x, y, "Linf", 0.03, 20, 2.5 * 0.03 / 20),
        "pgd_l2": lambda m, x, y: pgd(m, x, y, "L2", 1.0, 20, 2.5 * 1.0 / 20),
        "pgd_l2_det": lambda m, x, y: pgd(m, x, y, "L2", 1.0, 20, 2.5 * 1.0 / 20, random_start=False),
        "pgd_l1": lambda m, x, y: pgd(m, x, y, "L1", 8.0, 20, 1.0, random_start=False),
        "mifgsm": lambda m, x, y: mifgsm(m, x, y, 0.03, 10),
        "cw": lambda m, x, y: cw(m, x, y, 1.0),
        "apgd_ce": lambda m, x, y: apgd(m, x, y, 0.03, 100, "ce"),
        "apgd_dlr": lambda m, x, y: apgd(m, x, y, 0.03, 100, "dlr"),
        "square_linf": lambda m, x, y: square(m, x, y, "Linf", 0.05, 1000),
        "square_l2": lambda m, x, y: square(m, x, y, "L2", 1.0, 1000),
        "square_l2_300": lambda m, x, y: square(m, x, y, "L2", 1.0, 300),
    }


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    fast = len(sys.argv) > 2 and sys.argv[2] == "fast"
    only = sys.argv[2].split(",") if len(sys.argv) > 2 and not fast else None
    torch.set_num_threads(2)
    m = torch.jit.load("tests/conformance/fmnist_cnn.ts").eval()
    for p in m.parameters():
        p.requires_grad_(False)
    x = read_images(f"{DATA}/t10k-images-idx3-ubyte.gz")[:n].contiguous()
    y = read_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz")[:n].contiguous()
    acc = lambda xa: (m(xa).argmax(1) == y).float().mean().item()
    res = {"n": n, "torch": torch.__version__, "clean": acc(x)}
    for name, run in settings(fast).items():
        if only and name not in only:
            continue
        torch.manual_seed(0)
        t0 = time.time()
        xa = run(m, x, y)
        secs = time.time() - t0
        with torch.no_grad():
            res[name] = {"accuracy": round(acc(xa), 4), "seconds": round(secs, 2)}
        print(name, res[name], file=sys.stderr, flush=True)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
