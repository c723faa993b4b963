"""Python reads what save writes as JSON and CSV: records and lists (tensors as nested lists),
tables of records, columns and 2-D tensors, evaluate reports, certificates and ITR tables. Checked with
json.load, the csv module, numpy.loadtxt, and pandas.read_csv where pandas is installed.

Usage: test_json_csv.py PERTURB
"""
import csv
import json
import math
import os
import sys
import tempfile

from perturb_script import run_script

try:
    import numpy as np
except ImportError:
    np = None
try:
    import pandas as pd
except ImportError:
    pd = None

SCRIPT = """
let rows = [{{method: "fgsm", accuracy: 0.5, fooled: true, note: none}},
            {{method: "pgd, 10 steps", accuracy: 0.1, fooled: false, note: "say \\"hi\\"\\nthere"}}]
save(rows, "{d}/rows.json")
save(rows, "{d}/rows.csv")
save({{eps: [0.1, 0.2, 0.3], acc: tensor([0.5, 0.25, 1e-7]), n: tensor([1, 2, 3], dtype: "int64")}},
     "{d}/columns.csv")
let m = tensor([[1, 2, 3], [4.5, -6, 1/3]])
save(m, "{d}/matrix.csv")
save({{w: m, k: tensor([1, 2], dtype: "int64"), flags: tensor([1, 0]) > 0, n: 3, big: 1e300,
      inf: tensor([1, 0]) / 0, s: "é ✓", nested: {{a: [1, "x", none, true]}}}}, "{d}/record.json")
let model = load("{root}/tests/conformance/fmnist_cnn.ts")
let data = fashion_mnist(split: "test", limit: 40)
let report = evaluate(model, data, attacks: [FGSM(Linf(eps: 0.1)), PGD(Linf(eps: 0.1), steps: 3)])
save(report, "{d}/eval.json")
save(report, "{d}/eval.csv")
save([report, {{label: "run"}}], "{d}/list.json")
let sweep = evaluate(model, data, attacks: [FGSM(Linf(eps: 0.1))], eps: [0.05, 0.1])
save(sweep, "{d}/sweep.csv")
let c = certify(model, data, Smooth(sigma: 0.25), n0: 10, n: 100, batch: 100, seed: 1)
save(c, "{d}/cert.csv")
save(c, "{d}/cert.json")
save(c, "{d}/cert.tsv")
print(report.samples, report.clean, report.robust)
let pairs = fashion_captions(split: "test", limit: 20)
let tower = zoo.two_tower(vocab: pairs)
threat p = Pair(image: Linf(eps: 4/255), text: WordSub(words: 1))
let t = itr_table(tower, pairs, attacks: [CoAttack(p, steps: 2)], seed: 0)
save(t, "{d}/itr.csv")
save(t, "{d}/itr.json")
save(itr(tower, pairs), "{d}/itr_record.json")
"""


def check(failures, condition, message):
    if not condition:
        failures.append(message)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def check_tables(d, failures):
    rows = read_csv(f"{d}/rows.csv")
    check(failures, rows == [["method", "accuracy", "fooled", "note"],
                             ["fgsm", "0.5", "true", ""],
                             ["pgd, 10 steps", "0.1", "false", 'say "hi"\nthere']],
          f"rows.csv: {rows}")
    with open(f"{d}/rows.csv", "rb") as f:
        raw = f.read()
    check(failures, raw.startswith(b"method,accuracy,fooled,note\r\n"), f"CRLF header: {raw[:40]}")
    check(failures, b'"pgd, 10 steps",0.1,false,"say ""hi""\nthere"' in raw, f"quoting: {raw}")

    columns = read_csv(f"{d}/columns.csv")
    check(failures, columns[0] == ["eps", "acc", "n"], f"columns header: {columns[0]}")
    check(failures, [float(r[0]) for r in columns[1:]] == [0.1, 0.2, 0.3], f"eps: {columns}")
    # float32 tensors are written as the float32 value, exactly (shortest double text).
    acc = [float(r[1]) for r in columns[1:]]
    want = [0.5, 0.25, float(np.float32(1e-7))] if np else acc
    check(failures, acc == want, f"acc: {acc} vs {want}")
    check(failures, [r[2] for r in columns[1:]] == ["1", "2", "3"], f"n: {columns}")

    matrix = read_csv(f"{d}/matrix.csv")
    check(failures, len(matrix) == 2 and matrix[0] == ["1", "2", "3"], f"matrix: {matrix}")
    if np is not None:
        m = np.loadtxt(f"{d}/matrix.csv", delimiter=",")
        want = np.array([[1, 2, 3], [4.5, -6, 1 / 3]], dtype=np.float32).astype(np.float64)
        check(failures, np.array_equal(m, want), f"numpy.loadtxt: {m}")


def check_json(d, failures):
    with open(f"{d}/rows.json") as f:
        rows = json.load(f)
    check(failures, rows == [{"method": "fgsm", "accuracy": 0.5, "fooled": True, "note": None},
                             {"method": "pgd, 10 steps", "accuracy": 0.1, "fooled": False,
                              "note": 'say "hi"\nthere'}], f"rows.json: {rows}")
    with open(f"{d}/record.json", encoding="utf-8") as f:
        r = json.load(f)
    third = float(np.float32(1 / 3)) if np else r["w"][1][2]
    check(failures, r["w"] == [[1.0, 2.0, 3.0], [4.5, -6.0, third]], f"w: {r['w']}")
    check(failures, r["k"] == [1, 2] and all(type(x) is int for x in r["k"]), f"k: {r['k']}")
    check(failures, r["flags"] == [True, False], f"flags: {r['flags']}")
    check(failures, r["n"] == 3 and type(r["n"]) is int, f"n: {r['n']!r}")
    check(failures, r["big"] == 1e300, f"big: {r['big']}")
    check(failures, r["inf"] == [None, None], f"non-finite → null: {r['inf']}")
    check(failures, r["s"] == "é ✓", f"UTF-8: {r['s']!r}")
    check(failures, r["nested"] == {"a": [1, "x", None, True]}, f"nested: {r['nested']}")
    check(failures, list(r) == ["w", "k", "flags", "n", "big", "inf", "s", "nested"],
          f"field order: {list(r)}")


def check_report(d, printed, failures):
    with open(f"{d}/eval.json") as f:
        report = json.load(f)
    samples, clean, robust = printed.split()
    check(failures, report["samples"] == int(samples) == 40, f"samples: {report['samples']}")
    check(failures, abs(report["clean"] - float(clean)) < 1e-5, f"clean: {report['clean']}")
    with open(f"{d}/list.json") as f:
        listed = json.load(f)
    check(failures, listed == [report, {"label": "run"}], "a report in a list is its JSON")

    with open(f"{d}/eval.csv", newline="") as f:
        table = list(csv.DictReader(f))
    check(failures, len(table) == 3 and table[0]["attack"] == "clean", f"eval.csv rows: {table}")
    check(failures, float(table[0]["accuracy"]) == report["clean"], f"clean row: {table[0]}")
    attacks = list(report["by_attack"].items())
    for row, (name, a) in zip(table[1:], attacks):
        check(failures, row["attack"] == name, f"attack name: {row['attack']} vs {name}")
        for key in ["accuracy", "attacked", "gradient_evals", "queries", "gradient_evals_saved",
                    "seconds"]:
            check(failures, float(row[key]) == a[key], f"{name}.{key}: {row[key]} vs {a[key]}")
        check(failures, row["early_stop"] == str(a["early_stop"]).lower(), f"{name} early_stop")
    check(failures, float(table[-1]["accuracy"]) == report["robust"], "last row is robust")

    with open(f"{d}/sweep.csv", newline="") as f:
        sweep = list(csv.DictReader(f))
    check(failures, [(r["eps"], r["attack"]) for r in sweep][0::2] == [("0.05", "clean"),
                                                                     ("0.1", "clean")]
          and len(sweep) == 4, f"sweep.csv: {sweep}")


def check_certificate(d, failures):
    with open(f"{d}/cert.json") as f:
        cert = json.load(f)
    with open(f"{d}/cert.csv", newline="") as f:
        table = list(csv.DictReader(f))
    with open(f"{d}/cert.tsv", newline="") as f:
        tsv = list(csv.DictReader(f, delimiter="\t"))
    check(failures, len(table) == len(tsv) == len(cert["rows"]) == 40, f"rows: {len(table)}")
    check(failures, list(table[0]) == ["idx", "label", "predict", "radius", "correct", "time",
                                       "samples"], f"header: {list(table[0])}")
    for row, want, t in zip(table, cert["rows"], tsv):
        for key in ["idx", "label", "predict", "correct", "samples"]:
            check(failures, int(row[key]) == want[key] == int(t[key]), f"{key}: {row} {want}")
        check(failures, float(row["radius"]) == want["radius"], f"radius: {row} {want}")
        check(failures, abs(float(row["radius"]) - float(t["radius"])) < 1e-5, f"tsv: {t}")


def check_itr(d, failures):
    with open(f"{d}/itr.json") as f:
        table = json.load(f)
    with open(f"{d}/itr.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    check(failures, table["ks"] == [1, 5] and [r["row"] for r in rows] == ["Clean", "CoAttack"],
          f"itr rows: {rows}")
    for row, want in zip(rows, table["rows"]):
        for side in ["tr", "ir"]:
            for k in ["r1", "r5"]:
                check(failures, float(row[f"{side}_{k}"]) == want[side][k], f"itr {side} {k}")
        check(failures, int(row["queries"]) == want["queries"] and row["attack"] == want["attack"],
              f"itr row: {row} vs {want}")
    check(failures, rows[1]["attack"].startswith("CoAttack(Pair("), "a quoted attack cell")
    with open(f"{d}/itr_record.json") as f:
        record = json.load(f)
    check(failures, list(record["tr"]) == ["r1", "r5", "r10"] and record["images"] == 20,
          f"itr(...) record: {record}")


def check_pandas(d, failures):
    if pd is None:
        print(f"pandas part skipped: {sys.executable} has no pandas")
        return
    rows = pd.read_csv(f"{d}/rows.csv")
    check(failures, list(rows.columns) == ["method", "accuracy", "fooled", "note"], "pd columns")
    check(failures, rows["method"][1] == "pgd, 10 steps", f"pd quoting: {rows}")
    check(failures, rows["note"][1] == 'say "hi"\nthere', f"pd multi-line: {rows}")
    check(failures, list(rows["accuracy"]) == [0.5, 0.1], "pd numbers")
    cert = pd.read_csv(f"{d}/cert.csv")
    check(failures, len(cert) == 40 and cert["radius"].dtype.kind == "f", "pd certificate")
    report = pd.read_csv(f"{d}/eval.csv")
    check(failures, report["attacked"].dtype.kind == "i", f"pd report: {report.dtypes}")


def main():
    perturb = os.path.abspath(sys.argv[1])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    failures = []
    with tempfile.TemporaryDirectory() as d:
        printed = run_script(perturb, SCRIPT.format(d=d, root=root), d)
        check_tables(d, failures)
        check_json(d, failures)
        check_report(d, printed[0], failures)
        check_certificate(d, failures)
        check_itr(d, failures)
        check_pandas(d, failures)
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        sys.exit(1)
    print("ok: JSON and CSV read back by json, csv" + (", numpy" if np else "") +
          (", pandas" if pd else ""))


if __name__ == "__main__":
    main()
