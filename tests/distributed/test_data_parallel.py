#!/usr/bin/env python3
"""The data-parallel builtins on two processes over loopback give one process's numbers
(issue 14): an evaluate report (FGSM, PGD with a random start, APGD) and its kept adversarial
examples (keep: true, gathered from the ranks), accuracy, smoothed
certificates and predictions, bound verification, retrieval under a feature attack and
image-text retrieval, a streamed image folder with an unreadable image skipped, three steps of data-parallel training
(2 x 64 against 1 x 128, within 1e-5), a UAP and a denoiser fitted data-parallel; and a
two-process training run killed after a checkpoint resumes in one process to the
uninterrupted weights.

usage: test_data_parallel.py PERTURB  (run from the repository root)
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from workers import Expectations, children, environment_without_group, write_script

MODEL = os.path.abspath("tests/conformance/fmnist_cnn.ts")

EVALUATE = f"""
let model = load("{MODEL}")
let d = fashion_mnist(split: "test", limit: 150)
threat linf = Linf(eps: 0.1)
attack fgsm = FGSM(linf)
attack pgd = PGD(linf, steps: 5, step: 0.03, random_start: true)
attack apgd = APGD(linf, steps: 5)
let r = evaluate(model, d, attacks: [fgsm, pgd, apgd], batch: 32)
print(r.clean, r.robust, r.by_attack, r.gradient_evals, r.queries)
print(accuracy(model, d.x, d.y))
let k = evaluate(model, d, attacks: [fgsm, pgd, apgd], batch: 32, keep: true).examples
print(k.fooled_by, sum(k.x_adv), k.pred_adv, k.gradient_evals)
"""

CERTIFY = f"""
let model = load("{MODEL}")
let d = fashion_mnist(split: "test", limit: 7)
let c = certify(model, d, method: Smooth(sigma: 0.25), n0: 20, n: 300, batch: 100)
print(c.radius, c.predict, c.samples)
print(predict(model, d.x, method: Smooth(sigma: 0.25), n: 100))
let v = certify(model, d, method: IBP(Linf(eps: 0.005)), batch: 3)
print(v.radius, v.predict)
"""

RETRIEVAL = f"""
let model = load("{MODEL}")
let queries = fashion_mnist(split: "test", limit: 60)
let gallery = fashion_mnist(split: "train", limit: 200)
attack away = PGD(Linf(eps: 0.1), steps: 5, objective: "feature", gallery: gallery)
let adv = retrieval(model, queries, gallery, k: [1, 5], attack: away, batch: 16)
print(adv.recall, adv.map, adv.cmc)
let loo = retrieval(model, queries, k: 1, metric: "cosine", batch: 25)
print(loo.recall, loo.map)
let one_batch = retrieval(model, queries, gallery, k: 1, batch: 100)   # rank 1 owns no batch
print(one_batch.recall, one_batch.map)
let pairs = fashion_captions(split: "test", limit: 40)
let towers = zoo.two_tower(vocab: pairs, dim: 16, seed: 0)
let i = itr(towers, pairs, k: [1, 10], batch: 16)
print(i.tr, i.ir)
"""

# A streamed folder (tests/fixtures/image_folder plus an unreadable file, skipped): each rank
# decodes its own batches, and a skipped image leaves one batch short on one rank. A seeded
# two-class model gets some right, so the attack runs too.
STREAMED = """
let model = zoo.small_cnn(classes: 2, channels: 1, size: 28, seed: 3)
let d = image_folder(env("FOLDER"), size: 28, channels: 1, on_error: "skip", workers: 1)
let r = evaluate(model, d, attacks: [PGD(Linf(eps: 0.1), steps: 3, random_start: true)], batch: 2)
print(r.samples, r.clean, r.robust, r.gradient_evals)
let loo = retrieval(model, d, k: 1, batch: 2)
print(loo.recall, loo.map, loo.queries)
let c = certify(model, d, method: Smooth(sigma: 0.25), n0: 10, n: 50, batch: 50)
print(c.radius, c.predict)
"""

# 3 batches of 128: each rank computes 64 rows of every batch.
TRAIN = """
let d = fashion_mnist(split: "train", limit: 384)
let net = train(zoo.mlp(classes: 10, seed: 1), d, epochs: 1, batch: 128,
                optimizer: SGD(lr: 0.05, momentum: 0.9), seed: 0)
save(net, env("OUT"))
"""

# The last batch of 1 row leaves rank 1 without rows: it still takes part in every step's
# all-reduces.
SHORT_LAST_BATCH = """
let d = fashion_mnist(split: "train", limit: 65)
train(zoo.mlp(classes: 10, seed: 1), d, epochs: 1, batch: 64, seed: 0)
print("trained")
"""

# A Curriculum schedule runs its own loop: two epochs of clean tasks, batches of 128.
CURRICULUM = """
let d = fashion_mnist(split: "train", limit: 384)
schedule warm = Curriculum([{epochs: 1, task: Clean()}, {epochs: 1, task: Clean()}])
let net = zoo.mlp(classes: 10, seed: 1)
train(net, d, batch: 128, optimizer: SGD(lr: 0.05, momentum: 0.9), method: warm, seed: 0)
save(net, env("OUT"))
"""

UAP_AND_DENOISER = """
let model = load("MODEL")
let d = fashion_mnist(split: "test", limit: 96)
attack u = UAP(Linf(eps: 0.1), epochs: 2, batch: 32)
attack fitted = u.fit(model, d)
print(fitted.fooling_rate(model, d))
let den = zoo.dncnn(depth: 2, width: 8, seed: 3)  # no batch norm
let r = train_denoiser(den, model, d, sigma: 0.25, loss: "stability",
                       optimizer: SGD(lr: 0.01), epochs: 1, batch: 32, seed: 2)
save(den, env("OUT"))
""".replace("MODEL", MODEL)

COMPARE = """
let d = fashion_mnist(split: "test", limit: 100)
let a = load(env("A"))
let b = load(env("B"))
print(max(abs(a(d.x) - b(d.x))))
"""

# Long enough (40 steps, a checkpoint after each) to be killed mid-run.
RESUMABLE = """
let d = fashion_mnist(split: "train", limit: 2000)
let net = train(zoo.mlp(classes: 10, seed: 4), d, epochs: 2, batch: 100,
                optimizer: SGD(lr: 0.05, momentum: 0.9), seed: 5,
                checkpoint: env("CKPT"), checkpoint_every: 1, resume: true)
save(net, env("OUT"))
"""



def main():
    perturb = sys.argv[1]
    checks = Expectations()
    expect = checks.expect

    base_env = environment_without_group()
    base_env["PERTURB_THREADS"] = "1"

    with tempfile.TemporaryDirectory() as tmp:
        def script(name, text):
            return write_script(tmp, name, text)

        def run(path, nproc, **env):
            args = [perturb, "run", path] + (["--nproc", str(nproc)] if nproc > 1 else [])
            r = subprocess.run(args, capture_output=True, text=True, timeout=300,
                               env=dict(base_env, **env))
            expect(r.returncode == 0, f"{os.path.basename(path)} on {nproc}: {r.stderr}")
            return r.stdout

        def logits_gap(a, b):
            out = run(script("compare.ptb", COMPARE), 1, A=a, B=b)
            try:
                return float(out.split()[0])
            except (IndexError, ValueError):
                return float("inf")

        for name, text in [("evaluate.ptb", EVALUATE), ("certify.ptb", CERTIFY),
                           ("retrieval.ptb", RETRIEVAL)]:
            path = script(name, text)
            one, two = run(path, 1), run(path, 2)
            expect(one and one == two, f"{name}: one process\n{one}\ntwo processes\n{two}")

        folder = os.path.join(tmp, "folder")
        shutil.copytree("tests/fixtures/image_folder/sizes", folder)
        with open(os.path.join(folder, "bird", "broken.png"), "wb") as f:
            f.write(b"not a png")
        streamed = script("streamed.ptb", STREAMED)
        one, two = run(streamed, 1, FOLDER=folder), run(streamed, 2, FOLDER=folder)
        expect(one.startswith("5 ") and one == two,
               f"streamed folder: one process\n{one}\ntwo processes\n{two}")

        # Training saves its model; 2 processes must reach 1 process's weights within rounding.
        for name, text, what in [("train", TRAIN, "2 x 64 against 1 x 128"),
                                 ("curriculum", CURRICULUM, "a Curriculum on 2 against 1")]:
            path = script(name + ".ptb", text)
            one, two = (os.path.join(tmp, f"{name}{n}.pt") for n in (1, 2))
            run(path, 1, OUT=one)
            run(path, 2, OUT=two)
            gap = logits_gap(one, two)
            expect(gap < 1e-5, f"{what}: logits differ by {gap}")

        short = run(script("short.ptb", SHORT_LAST_BATCH), 2)
        expect(short.strip() == "trained", f"a rank without rows of a batch: {short!r}")

        fit = script("fit.ptb", UAP_AND_DENOISER)
        den_one, den_two = os.path.join(tmp, "den1.pt"), os.path.join(tmp, "den2.pt")
        rate_one, rate_two = run(fit, 1, OUT=den_one), run(fit, 2, OUT=den_two)
        expect(rate_one and abs(float(rate_one) - float(rate_two)) < 0.02,
               f"UAP fooling rate: one process {rate_one!r}, two {rate_two!r}")
        gap = logits_gap(den_one, den_two)
        expect(gap < 1e-5, f"a denoiser trained on 1 and 2 processes: outputs differ by {gap}")

        # A 2-process run killed after a checkpoint resumes in one process to the weights of
        # an uninterrupted run.
        resumable = script("resumable.ptb", RESUMABLE)
        whole = os.path.join(tmp, "whole.pt")
        run(resumable, 1, OUT=whole, CKPT=os.path.join(tmp, "whole.ckpt"))
        ckpt = os.path.join(tmp, "killed.ckpt")
        resumed = os.path.join(tmp, "resumed.pt")
        p = subprocess.Popen([perturb, "run", resumable, "--nproc", "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(base_env, OUT=resumed, CKPT=ckpt))
        deadline = time.time() + 60
        while not os.path.exists(ckpt) and p.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        workers = children(p.pid)
        if workers:
            os.kill(workers[-1], signal.SIGKILL)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            err = "did not end"
        expect(p.returncode != 0 and "killed by signal 9" in err,
               f"the killed run ends with an error: rc {p.returncode}, {err}")
        expect(not os.path.exists(resumed), "the killed run did not finish")
        out = subprocess.run([perturb, "run", resumable, "--verbose"], capture_output=True,
                             text=True, timeout=300,
                             env=dict(base_env, OUT=resumed, CKPT=ckpt))
        expect(out.returncode == 0 and "resuming from" in out.stderr,
               f"resumed in one process: {out.stderr}")
        gap = logits_gap(whole, resumed)
        expect(gap < 1e-4, f"resumed at another world size: logits differ by {gap}")

    checks.finish()


if __name__ == "__main__":
    main()
