"""autodiff.io: state dicts to .npz and back, never with pickle."""

from __future__ import annotations

import io
import pickle
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
