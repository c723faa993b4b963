#!/usr/bin/python3
"""Plain-PyTorch reference of AutoAttack, version "standard", Linf (Croce & Hein 2020, "Reliable
evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks"),
written from the paper and the defaults of fra31/auto-attack (autoattack.py, autopgd_base.py,
fab_base.py / fab_projections.py, square.py) — no autoattack import; the attacks are written out
here and in reference.py.

  APGD-CE   100 iterations, 1 restart (n_restarts=1 in "standard" for Linf/L2), rho 0.75
  APGD-T    targeted DLR loss (eq. 7: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)), 100
            iterations, 1 restart, target classes the 2nd..10th most likely clean classes
  FAB-T     targeted FAB (Croce & Hein 2020b), 100 iterations, 1 restart (no random start),
            alpha_max 0.1, eta 1.05, beta 0.9, same 9 target classes; a success counts only
            within eps
  Square    5000 queries, p_init 0.8, margin loss, resc_schedule=False (the p schedule is NOT
            rescaled to the budget inside AutoAttack), 5000 iterations after the initial point

Cascade (run_standard_evaluation): each attack runs only on the samples still robust (correct
clean and not fooled by an earlier attack); every attack call re-seeds torch with the seed.

usage (repository root):
  /usr/bin/python3 tests/conformance/attacks/autoattack_reference.py [N] [options]
    --model PATH      TorchScript model (default tests/conformance/fmnist_at_cnn.ts)
    --eps E           Linf radius (default 0.1)
    --steps S         APGD and FAB iterations (default 100)
    --queries Q       Square queries (default 5000)
    --targets T       target classes of APGD-T and FAB-T (default 9)
    --threads K       torch threads (default 1)
    --pgd20           also PGD-20 (step 2.5 eps / 20, random start)
    --every           also every attack alone on every correctly classified sample (timing)
    --no-cascade      skip the cascade (with --every: only the attacks alone)
Writes JSON to stdout: clean, robust accuracy after each stage, seconds per stage.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import DATA, apgd_run, pgd, read_images, read_labels, square  # noqa: E402


# ---------------------------------------------------------------- losses


def ce_loss(z, y):
    return F.cross_entropy(z, y, reduction="none")


def dlr_loss(z, y):  # eq. (6), untargeted DLR
    zs, ind = z.sort(1)
    top_is_y = (ind[:, -1] == y).float()
    u = torch.arange(z.shape[0])
    return -(z[u, y] - zs[:, -2] * top_is_y - zs[:, -1] * (1 - top_is_y)) / (zs[:, -1] - zs[:, -3] + 1e-12)


def dlr_targeted(target):
    """Targeted DLR (eq. 7): -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12), pi the logits
    sorted in decreasing order."""
    def loss(z, y):
        zs = z.sort(1)[0]
        u = torch.arange(z.shape[0])
        return -(z[u, y] - z[u, target]) / (zs[:, -1] - 0.5 * (zs[:, -3] + zs[:, -4]) + 1e-12)
    return loss


# ---------------------------------------------------------------- APGD, APGD-T


def apgd_ce(m, x, y, eps, steps, seed):
    """APGD-CE, one restart, on x (all correctly classified in the cascade)."""
    torch.manual_seed(seed)
    adv = x.clone()
    with torch.no_grad():
        acc = m(x).argmax(1) == y
    idx = acc.nonzero().squeeze(1)
    if idx.numel():
        ok, best_adv = apgd_run(m, x[idx], y[idx], eps, steps, ce_loss)
        adv[idx[~ok]] = best_adv[~ok]
    return adv


def apgd_t(m, x, y, eps, steps, seed, targets=9):
    """APGD-T: for the 2nd..(targets+1)-th most likely clean class, one APGD run with the
    targeted DLR loss on the samples still correctly classified."""
    torch.manual_seed(seed)
    adv = x.clone()
    with torch.no_grad():
        acc = m(x).argmax(1) == y
    for tc in range(2, targets + 2):
        idx = acc.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        xs, ys = x[idx], y[idx]
        with torch.no_grad():
            target = m(xs).sort(1)[1][:, -tc]
        ok, best_adv = apgd_run(m, xs, ys, eps, steps, dlr_targeted(target))
        acc[idx[~ok]] = False
        adv[idx[~ok]] = best_adv[~ok]
    return adv


# ---------------------------------------------------------------- FAB-T


def project_linf_hyperplane(p, w, b):
    """Smallest-Linf step d with w.(p + d) = b and 0 <= p + d <= 1, per row (FAB's projection,
    eq. 7 with the box). Each coordinate moves by min(lam, room_i) in the direction sign(w_i)
    sign(c), c = b - w.p; lam solves sum_i |w_i| min(lam, room_i) = |c| (piecewise linear,
    solved exactly after sorting the rooms). Unreachable: every coordinate moves to the box."""
    c = b - (w * p).sum(1)
    direction = w.sign() * c.sign().unsqueeze(1)
    room = torch.where(direction > 0, 1 - p, p).clamp(min=0)
    aw = w.abs()
    need = c.abs()
    r_sorted, order = room.sort(1)
    a_sorted = aw.gather(1, order)
    sat = (a_sorted * r_sorted).cumsum(1)  # sum_{j <= k} a_j r_j
    a_after = a_sorted.sum(1, keepdim=True) - a_sorted.cumsum(1)  # sum_{j > k} a_j
    value = sat + r_sorted * a_after  # f(r_k)
    dim = p.shape[1]
    k = (value < need.unsqueeze(1)).sum(1).clamp(max=dim - 1)  # first k with f(r_k) >= need
    prev = (k - 1).clamp(min=0).unsqueeze(1)
    has_prev = (k > 0).float()
    sat_prev = sat.gather(1, prev).squeeze(1) * has_prev
    a_rest = a_sorted.sum(1) - a_sorted.cumsum(1).gather(1, prev).squeeze(1) * has_prev
    lam = (need - sat_prev) / a_rest.clamp(min=1e-30)
    top = r_sorted[:, -1]
    reachable = value[:, -1] >= need
    lam = torch.where(reachable, torch.minimum(lam.clamp(min=0), top), top)
    return direction * torch.minimum(lam.unsqueeze(1), room)


def fab_t_run(m, x0, y, target, steps, alpha_max=0.1, eta=1.05, beta=0.9):
    """One FAB-T run without random start (fab_base.attack_single_run, targeted): linearise
    z_t - z_y at x1, project x1 and x0 onto the hyperplane, biased step, backward step beta once
    adversarial. Returns the smallest-Linf adversarial point found and its distance (1e10 if
    none)."""
    n = x0.shape[0]
    x0f = x0.reshape(n, -1)
    x1 = x0.clone()
    best = x0.clone()
    best_d = torch.full((n,), 1e10)
    u = torch.arange(n)
    for _ in range(steps):
        xi = x1.clone().requires_grad_(True)
        z = m(xi)
        f = z[u, target] - z[u, y]
        g = torch.autograd.grad(f.sum(), xi)[0].reshape(n, -1)
        with torch.no_grad():
            f = f.detach()
            x1f = x1.reshape(n, -1)
            b = (g * x1f).sum(1) - f
            d = project_linf_hyperplane(torch.cat([x1f, x0f]), torch.cat([g, g]), torch.cat([b, b]))
            d1, d2 = d[:n], d[n:]
            a1 = d1.abs().max(1)[0].clamp(min=1e-8)
            a2 = d2.abs().max(1)[0].clamp(min=1e-8)
            alpha = (a1 / (a1 + a2)).clamp(0, alpha_max).unsqueeze(1)
            x1f = ((x1f + eta * d1) * (1 - alpha) + (x0f + eta * d2) * alpha).clamp(0, 1)
            x1 = x1f.view_as(x0)
            is_adv = m(x1).argmax(1) != y
            dist = (x1 - x0).reshape(n, -1).abs().max(1)[0]
            better = is_adv & (dist < best_d)
            best[better] = x1[better]
            best_d[better] = dist[better]
            x1[is_adv] = x0[is_adv] + (x1[is_adv] - x0[is_adv]) * beta
    return best, best_d


def fab_t(m, x, y, eps, steps, seed, targets=9):
    torch.manual_seed(seed)
    adv = x.clone()
    with torch.no_grad():
        acc = m(x).argmax(1) == y
    for tc in range(2, targets + 2):
        idx = acc.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        xs, ys = x[idx], y[idx]
        with torch.no_grad():
            target = m(xs).sort(1)[1][:, -tc]
        cand, dist = fab_t_run(m, xs, ys, target, steps)
        with torch.no_grad():
            fooled = (m(cand).argmax(1) != ys) & (dist <= eps)
        acc[idx[fooled]] = False
        adv[idx[fooled]] = cand[fooled]
    return adv


# ---------------------------------------------------------------- Square, cascade


def square_aa(m, x, y, eps, queries, seed):
    torch.manual_seed(seed)
    return square(m, x, y, "Linf", eps, queries, p_init=0.8, rescale=False, iters=queries)


def autoattack(m, x, y, eps, steps=100, queries=5000, targets=9, seed=0, log=None):
    """run_standard_evaluation: the cascade over APGD-CE, APGD-T, FAB-T, Square."""
    attacks = [
        ("apgd-ce", lambda xs, ys: apgd_ce(m, xs, ys, eps, steps, seed)),
        ("apgd-t", lambda xs, ys: apgd_t(m, xs, ys, eps, steps, seed, targets)),
        ("fab-t", lambda xs, ys: fab_t(m, xs, ys, eps, steps, seed, targets)),
        ("square", lambda xs, ys: square_aa(m, xs, ys, eps, queries, seed)),
    ]
    with torch.no_grad():
        robust = m(x).argmax(1) == y
    out = {"clean": robust.float().mean().item(), "stages": {}}
    for name, run in attacks:
        idx = robust.nonzero().squeeze(1)
        t0 = time.time()
        attacked = idx.numel()
        if attacked:
            xa = run(x[idx], y[idx])
            with torch.no_grad():
                fooled = m(xa).argmax(1) != y[idx]
                linf = (xa - x[idx]).abs().reshape(attacked, -1).max(1)[0]
            assert (linf <= eps + 1e-5).all(), f"{name} left the ball: {linf.max().item()}"
            robust[idx[fooled]] = False
        secs = time.time() - t0
        out["stages"][name] = {"robust": robust.float().mean().item(), "attacked": attacked,
                               "seconds": round(secs, 2)}
        if log:
            print(name, out["stages"][name], file=log, flush=True)
    out["robust"] = robust.float().mean().item()
    out["robust_flags"] = "".join("1" if r else "0" for r in robust.tolist())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=500)
    ap.add_argument("--model", default="tests/conformance/fmnist_at_cnn.ts")
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--targets", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pgd20", action="store_true")
    ap.add_argument("--every", action="store_true")
    ap.add_argument("--no-cascade", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m = torch.jit.load(a.model).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    x = read_images(f"{DATA}/t10k-images-idx3-ubyte.gz")[:a.n].contiguous()
    y = read_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz")[:a.n].contiguous()
    res = {"n": a.n, "model": a.model, "eps": a.eps, "steps": a.steps, "queries": a.queries,
           "targets": a.targets, "threads": a.threads, "torch": torch.__version__}
    if not a.no_cascade:
        t0 = time.time()
        res["autoattack"] = autoattack(m, x, y, a.eps, a.steps, a.queries, a.targets, a.seed,
                                       log=sys.stderr)
        res["autoattack"]["seconds"] = round(time.time() - t0, 2)
    if a.pgd20:
        torch.manual_seed(a.seed)
        t0 = time.time()
        xa = pgd(m, x, y, "Linf", a.eps, 20, 2.5 * a.eps / 20)
        with torch.no_grad():
            res["pgd20"] = {"accuracy": (m(xa).argmax(1) == y).float().mean().item(),
                            "seconds": round(time.time() - t0, 2)}
        print("pgd20", res["pgd20"], file=sys.stderr, flush=True)
    if a.every:
        with torch.no_grad():
            ok = (m(x).argmax(1) == y).nonzero().squeeze(1)
        xs, ys = x[ok], y[ok]
        every = {}
        for name, run in [("apgd-ce", lambda: apgd_ce(m, xs, ys, a.eps, a.steps, a.seed)),
                          ("apgd-t", lambda: apgd_t(m, xs, ys, a.eps, a.steps, a.seed, a.targets)),
                          ("fab-t", lambda: fab_t(m, xs, ys, a.eps, a.steps, a.seed, a.targets)),
                          ("square", lambda: square_aa(m, xs, ys, a.eps, a.queries, a.seed))]:
            t0 = time.time()
            xa = run()
            with torch.no_grad():
                acc = (m(xa).argmax(1) == ys).float().sum().item() / a.n
            every[name] = {"robust": acc, "seconds": round(time.time() - t0, 2)}
            print("alone", name, every[name], file=sys.stderr, flush=True)
        res["every"] = every
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
