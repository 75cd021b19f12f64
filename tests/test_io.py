"""autodiff.io: state dicts to .npz and back, never with pickle."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import stat
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn
from autodiff.io import load, save


def test_flat_state_dict_round_trip_is_a_plain_npz(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4),
                          nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))  # fmt: skip
    sd = model.state_dict()
    path = tmp_path / "model.npz"
    save(sd, path)
    back = load(path)
    assert list(back) == list(sd)  # order and dotted names kept
    assert "2.1.weight" in back
    for k in sd:
        assert back[k].dtype == sd[k].dtype and back[k].shape == sd[k].shape
        np.testing.assert_array_equal(back[k], sd[k])
    assert (
        back["1.num_batches_tracked"].dtype == np.int64 and back["1.num_batches_tracked"].ndim == 0
    )
    # anyone can read it: a plain .npz with one array per name
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(sd)
    other = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4),
                          nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))  # fmt: skip
    other.load_state_dict(back)
    np.testing.assert_array_equal(other[2][1].weight.detach().numpy(), sd["2.1.weight"])


def test_written_at_exactly_the_path_given(tmp_path):
    path = tmp_path / "weights.pt"  # no .npz suffix is added
    save({"w": np.ones(2)}, path)
    assert path.exists() and not (tmp_path / "weights.pt.npz").exists()
    np.testing.assert_array_equal(load(str(path))["w"], np.ones(2))


def test_tensors_float32_and_file_objects():
    buf = io.BytesIO()
    t = ad.tensor([1.5, 2.5], dtype=ad.float32, requires_grad=True)
    save({"t": t, "n": np.arange(3)}, buf)
    buf.seek(0)
    back = load(buf)
    assert back["t"].dtype == np.float32
    np.testing.assert_array_equal(back["t"], [1.5, 2.5])
    np.testing.assert_array_equal(back["n"], [0, 1, 2])


def test_nested_containers_and_plain_values(tmp_path):
    obj = {
        "model": OrderedDict(w=np.ones((2, 2)), b=ad.zeros(2)),
        "optim": {"state": {0: {"step": 3, "exp_avg": np.full(2, 0.5)}},
                  "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0, 1],
                                    "name": "all", "foo": None, "flag": True,
                                    "inf": float("inf")}]},
        "epoch": 7,
    }  # fmt: skip
    path = tmp_path / "ckpt.npz"
    save(obj, path)
    back = load(path)
    assert list(back) == ["model", "optim", "epoch"]
    np.testing.assert_array_equal(back["model"]["w"], np.ones((2, 2)))
    np.testing.assert_array_equal(back["model"]["b"], np.zeros(2))
    state = back["optim"]["state"][0]
    assert state["step"] == 3 and isinstance(state["step"], int)
    np.testing.assert_array_equal(state["exp_avg"], [0.5, 0.5])
    group = back["optim"]["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and group["params"] == [0, 1]
    assert group["name"] == "all" and group["foo"] is None and group["flag"] is True
    assert group["inf"] == float("inf")
    assert back["epoch"] == 7


def test_never_pickles(tmp_path):
    with pytest.raises(TypeError, match="never pickles"):
        save({"f": lambda x: x}, tmp_path / "a.npz")
    with pytest.raises(TypeError, match="never pickles"):
        save({"w": np.ones(2), "o": {"x": object()}}, tmp_path / "b.npz")
    with pytest.raises(TypeError, match="expects a dict"):
        save([np.ones(2)], tmp_path / "c.npz")
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(ad.ones(2))
    # an .npz holding an object array (which needs pickle) is refused on load
    evil = tmp_path / "evil.npz"
    np.savez(evil, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled data"):
        load(evil)
    # so is a pickle file, such as an old-style PyTorch checkpoint
    pkl = tmp_path / "model.pth"
    pkl.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="convert_torchvision"):
        load(pkl)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")
    zipped = tmp_path / "notnpz.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x04N.")
    with pytest.raises(ValueError, match=r"not an \.npz of arrays"):
        load(zipped)
    single = tmp_path / "one.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="single array"):
        load(single)


# ------------------------------------------------------------------ safe files (issue 12, 4-7)


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_save_is_atomic_a_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(3.0)}, path)
    good = path.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def failing(fp, arr, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(fp, arr, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(OSError, match="disk full"):
        save({"a": np.ones(2), "b": np.zeros(2)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == good  # untouched, not truncated
    assert _listing(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(load(path)["w"], np.arange(3.0))


def test_keys_named_like_savez_arguments_round_trip(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.ones(1)}, path)
    sd = {"file": np.arange(2.0), "allow_pickle": np.ones(3), "args": np.zeros(1),
          "kwds": np.full(2, 7), "compress": np.eye(2)}  # fmt: skip
    save(sd, path)
    back = load(path)
    assert list(back) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(back[k], sd[k])
    # nested checkpoints too
    save({"file": {"allow_pickle": np.ones(2)}, "epoch": 1}, path)
    np.testing.assert_array_equal(load(path)["file"]["allow_pickle"], np.ones(2))


def test_structured_array_with_an_object_field_is_refused_before_writing(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.ones(2)}, path)
    good = path.read_bytes()
    rec = np.array([(1, None)], dtype=[("a", np.int64), ("b", object)])
    for bad in ({"rec": rec}, {"nested": {"rec": rec}}, {"o": np.array([1, "x"], dtype=object)}):
        with pytest.raises(TypeError, match="never pickles"):
            save(bad, path)
    with pytest.raises(TypeError, match=r"dtype .* holds Python objects"):
        save({"rec": rec}, path)
    assert path.read_bytes() == good
    assert _listing(tmp_path) == ["ckpt.npz"]
    # a structured array of plain fields is fine
    ok = np.array([(1, 2.5)], dtype=[("a", np.int64), ("b", np.float64)])
    save({"ok": ok}, path)
    assert load(path)["ok"].dtype == ok.dtype


def test_files_written_by_the_earlier_save_still_load(tmp_path):
    # what autodiff.save wrote before it wrote the archive itself: np.savez, with the nested
    # structure as a JSON byte array named __autodiff_tree__
    flat = tmp_path / "flat.npz"
    with open(flat, "wb") as f:
        np.savez(f, **{"0.weight": np.ones((2, 2)), "1.num_batches_tracked": np.array(3)})
    back = load(flat)
    assert list(back) == ["0.weight", "1.num_batches_tracked"]
    assert back["1.num_batches_tracked"] == 3
    tree = {"dict": [["model", {"dict": [["w", {"array": "a0"}]]}], ["epoch", {"value": 7}],
                     ["betas", {"tuple": [{"value": 0.9}, {"float": "inf"}]}]]}  # fmt: skip
    nested = tmp_path / "nested.npz"
    meta = np.frombuffer(json.dumps(tree).encode("utf-8"), dtype=np.uint8)
    np.savez(nested, a0=np.arange(4.0), __autodiff_tree__=meta)
    back = load(nested)
    np.testing.assert_array_equal(back["model"]["w"], np.arange(4.0))
    assert back["epoch"] == 7 and back["betas"] == (0.9, float("inf"))


def test_the_archive_is_what_np_savez_writes(tmp_path):
    sd = {"a": np.arange(6.0).reshape(2, 3), "b.c": np.array(2, dtype=np.int32)}
    ours, theirs = tmp_path / "ours.npz", tmp_path / "theirs.npz"
    save(sd, ours)
    np.savez(theirs, **sd)
    with zipfile.ZipFile(ours) as zo, zipfile.ZipFile(theirs) as zt:
        assert zo.namelist() == zt.namelist()
        for name in zo.namelist():
            assert zo.read(name) == zt.read(name)
    nested = tmp_path / "nested.npz"
    save({"m": {"w": np.ones(2)}, "step": 3}, nested)
    with np.load(nested, allow_pickle=False) as npz:  # any NumPy reads it, without pickle
        assert sorted(npz.files) == ["__autodiff_tree__", "a0"]


def test_save_keeps_permissions_and_symlinks(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.ones(2)}, path)
    os.chmod(path, 0o640)
    save({"w": np.zeros(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    link = tmp_path / "latest.npz"
    link.symlink_to(path)
    save({"w": np.full(2, 5.0)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(load(path)["w"], [5.0, 5.0])
    assert _listing(tmp_path) == ["ckpt.npz", "latest.npz"]
    with pytest.raises(FileNotFoundError, match="no directory"):
        save({"w": np.ones(1)}, tmp_path / "nowhere" / "x.npz")


def _rewrite(path, **entries):
    """``path`` with some entries replaced by raw bytes."""
    with zipfile.ZipFile(path) as z:
        content = {n: z.read(n) for n in z.namelist()}
    content.update(entries)
    with zipfile.ZipFile(path, "w") as z:
        for n, b in content.items():
            z.writestr(n, b)


def _meta(text: bytes) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.frombuffer(text, dtype=np.uint8))
    return buf.getvalue()


def test_every_load_error_names_the_file_and_the_problem(tmp_path):
    def fails(path, match):
        with pytest.raises(ValueError, match=match) as info:
            load(path)
        assert str(path) in str(info.value)
        return str(info.value)

    text = tmp_path / "notes.txt"
    text.write_text("w = [1, 2, 3]\n")
    msg = fails(text, "is a text file")
    assert "pickle" not in msg
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    fails(empty, "is empty")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02\xff" * 8)
    fails(binary, "not a zip signature")

    good = tmp_path / "good.npz"
    save({"w": np.arange(100.0)}, good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    fails(truncated, "damaged zip archive")
    flipped = tmp_path / "flipped.npz"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's bytes: the CRC no longer matches
    flipped.write_bytes(bytes(data))
    fails(flipped, r"the array 'w' is damaged")
    header = tmp_path / "header.npz"
    header.write_bytes(good.read_bytes())
    _rewrite(header, **{"w.npy": b"\x93NUMPY\x01\x00garbage"})
    fails(header, r"the array 'w' is damaged")

    ckpt = tmp_path / "ckpt.npz"
    save({"model": {"w": np.ones(2)}, "epoch": 1}, ckpt)
    for name, meta, match in [
        ("bytes", _meta(b"\xff\xfe\x00"), "not UTF-8 JSON"),
        ("json", _meta(b'{"dict": [['), "not UTF-8 JSON"),
        ("missing", _meta(b'{"dict": [["w", {"array": "a9"}]]}'), "does not hold"),
        ("shape", _meta(b'{"list": 3}'), "unknown node"),
        ("node", _meta(b"[1, 2]"), "not an object"),
    ]:
        bad = tmp_path / f"meta-{name}.npz"
        bad.write_bytes(ckpt.read_bytes())
        _rewrite(bad, **{"__autodiff_tree__.npy": meta})
        msg = fails(bad, "structure metadata")
        assert re.search(match, msg), msg
    wrong = tmp_path / "meta-dtype.npz"
    np.savez(wrong, a0=np.ones(2), __autodiff_tree__=np.ones(3))
    fails(wrong, "not UTF-8 bytes")

    buf = io.BytesIO(b"hello")  # a file object is named by its type
    with pytest.raises(ValueError, match="<BytesIO> is a text file"):
        load(buf)
