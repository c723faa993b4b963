"""NumPy and Perturb read each other's files: numpy writes .npy (float32 C order, float64
Fortran order, big-endian float32, uint8, int64) and .npz (savez, savez_compressed), a Perturb
script prints what it loaded; Perturb saves .npy/.npz and numpy.load reads them back equal.

Runs under /usr/bin/python3 (Debian's, with python3-numpy); skips when numpy is missing.
Usage: test_numpy_roundtrip.py PERTURB
"""
import os
import sys
import tempfile

from perturb_script import import_or_skip, run_script

np = import_or_skip("numpy")



def main():
    perturb = os.path.abspath(sys.argv[1])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        def path(name):
            return os.path.join(tmp, name)

        c32 = np.arange(12, dtype=np.float32).reshape(3, 4) / 8
        f64 = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3) * 1.5)
        big = np.array([1.5, -2.25, 1024], dtype=">f4")
        u8 = np.array([[0, 7], [200, 255]], dtype=np.uint8)
        i64 = np.array([-(2 ** 40), 3, 5], dtype=np.int64)
        assert f64.flags.f_contiguous and not f64.flags.c_contiguous
        np.save(path("c32.npy"), c32)
        np.save(path("f64.npy"), f64)
        np.save(path("big.npy"), big)
        np.save(path("u8.npy"), u8)
        np.save(path("i64.npy"), i64)
        np.savez(path("plain.npz"), x=c32, y=i64)
        np.savez_compressed(path("packed.npz"), x=c32, y=i64)

        source = f"""
let c = load("{path('c32.npy')}")
print(type(c), sum(c), c[2, 3])
let f = load("{path('f64.npy')}")
print(type(f), f[0, 2], f[1, 0], f[1, 2])
let b = load("{path('big.npy')}")
print(type(b), b[0], b[1], b[2])
let u = load("{path('u8.npy')}")
print(type(u), u[1, 0], u[1, 1])
let i = load("{path('i64.npy')}")
print(type(i), i[1], i[2], sum(i == -1099511627776))
for name in ["plain", "packed"] {{
  let z = load("{tmp}/" + name + ".npz")
  print(name, type(z.x), sum(z.x), type(z.y), z.y[2])
}}
save(c * 2, "{path('out_c.npy')}")
save(f, "{path('out_f.npy')}")
save(u, "{path('out_u8.npy')}")
save(c > 0.5, "{path('out_bool.npy')}")
save({{x: c, y: i, u: u}}, "{path('out.npz')}")
"""
        # Indexing gives 0-d tensors, printed tensor(v); uint8 is "byte" to describe_type.
        expected = [
            "tensor [3, 4] float32 8.25 tensor(1.375)",
            "tensor [2, 3] float64 tensor(3) tensor(4.5) tensor(7.5)",
            "tensor [3] float32 tensor(1.5) tensor(-2.25) tensor(1024)",
            "tensor [2, 2] byte tensor(200) tensor(255)",
            "tensor [3] int64 tensor(3) tensor(5) 1",
            "plain tensor [3, 4] float32 8.25 tensor [3] int64 tensor(5)",
            "packed tensor [3, 4] float32 8.25 tensor [3] int64 tensor(5)",
        ]
        got = run_script(perturb, source, tmp)
        if got != expected:
            failures.append("perturb read numpy's files as\n  " + "\n  ".join(got) +
                            "\nexpected\n  " + "\n  ".join(expected))

        def same(name, loaded, want):
            if loaded.dtype != want.dtype or loaded.shape != want.shape or \
                    not np.array_equal(loaded, want):
                failures.append(f"numpy read {name} as {loaded.dtype} {loaded.shape} {loaded!r}, "
                                f"expected {want.dtype} {want.shape} {want!r}")

        same("out_c.npy", np.load(path("out_c.npy")), c32 * 2)
        same("out_f.npy", np.load(path("out_f.npy")), np.ascontiguousarray(f64))
        same("out_u8.npy", np.load(path("out_u8.npy")), u8)
        same("out_bool.npy", np.load(path("out_bool.npy")), c32 > 0.5)
        with np.load(path("out.npz")) as archive:
            if list(archive.keys()) != ["x", "y", "u"]:
                failures.append(f"out.npz holds {list(archive.keys())}, expected x, y, u")
            else:
                same("out.npz x", archive["x"], c32)
                same("out.npz y", archive["y"], i64)
                same("out.npz u", archive["u"], u8)

    if failures:
        sys.exit("\n".join(failures))
    print("numpy and perturb read each other's .npy and .npz files")


if __name__ == "__main__":
    main()
